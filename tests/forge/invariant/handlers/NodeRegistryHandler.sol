// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {VerToken} from "../../../../contracts/VerToken.sol";
import {NodeRegistry} from "../../../../contracts/NodeRegistry.sol";
import {INodeRegistry} from "../../../../contracts/interfaces/INodeRegistry.sol";
import {Clock} from "../../utils/Clock.sol";
import {HandlerBase} from "./HandlerBase.sol";

/// @title NodeRegistryHandler
/// @notice Drives NodeRegistry with random sequences of every contributor, anyone, market and
///         governance action, across several contributors, and keeps an independent model of what
///         the registry should hold: VER in and out (and burned), stake and compensation per
///         node, the per-unit compensation fixed at each failure, suspicions, reserved units, and
///         each node's status by the life-cycle rules of INodeRegistry.
/// @dev Needs VER MINTER_ROLE (it funds the contributors) and, on the registry, MARKET_ROLE (it
///      plays the market until TaskMarket's handler takes that part); governance actions are
///      made as `governor` (the registry's admin, which also holds PAUSER_ROLE).
///      Actions call the registry directly: a call the registry rejects reverts the whole action,
///      ghosts included, so the model only ever records what the registry accepted.
contract NodeRegistryHandler is HandlerBase {
    uint256 internal constant MAX_BPS = 10_000;
    uint256 internal constant MAX_CAPACITY = 64;
    uint256 internal constant MAX_PRICE = 1e21;

    VerToken public immutable ver;
    NodeRegistry public immutable registry;

    /// @notice Where compensation goes when the market claims it (stands in for TaskMarket).
    address public immutable compensationSink;
    /// @notice The registry's admin and pauser.
    address public immutable governor;

    bytes32[] internal _classes;
    mapping(bytes32 class => uint256) internal _minStake;
    mapping(bytes32 class => uint256) internal _wattLimit;

    INodeRegistry.Parameters internal _params;

    // ---------------------------------------------------------------- ghosts (the model)

    uint256[] internal _nodeIds;
    mapping(uint256 nodeId => address) public ghostOwner;
    mapping(uint256 nodeId => bytes32) public ghostClass;
    mapping(uint256 nodeId => INodeRegistry.Status) public ghostStatus;
    mapping(uint256 nodeId => bool) public ghostEverFailed;
    mapping(uint256 nodeId => uint256) public ghostStake;
    mapping(uint256 nodeId => uint256) public ghostCompensation;
    mapping(uint256 nodeId => uint256) public ghostCapacity;
    mapping(uint256 nodeId => uint256) public ghostReserved;
    mapping(uint256 nodeId => uint256) public ghostPerUnit;
    mapping(uint256 nodeId => uint256) public ghostLastBeat;
    mapping(uint256 nodeId => uint256) public ghostSuspectedAt;
    mapping(uint256 nodeId => uint256) public ghostFailableAt;
    mapping(uint256 nodeId => address) public ghostSuspecter;
    /// @notice Energy by the model: per node, its last counter, per class the totals.
    mapping(uint256 nodeId => uint256) public ghostEnergy;
    mapping(uint256 nodeId => uint256) public ghostCounter;
    mapping(uint256 nodeId => uint256) public ghostRenewable;
    mapping(bytes32 class => uint256) public ghostClassEnergy;
    mapping(bytes32 class => uint256) public ghostClassMeasured;

    /// @notice Sum of ghostStake over all nodes, kept by this handler, not read from the registry.
    uint256 public ghostTotalStake;
    /// @notice Sum of ghostCompensation over all nodes.
    uint256 public ghostTotalCompensation;
    /// @notice VER that entered the registry through its own functions (stakes).
    uint256 public ghostVerIn;
    /// @notice VER the registry paid out (withdrawals, bounties, compensation claims).
    uint256 public ghostVerOut;
    /// @notice VER sent to the registry with a plain transfer; the registry must not count it.
    uint256 public ghostDonated;
    /// @notice VER minted by this handler and burned by the registry (slashes nobody recovers).
    uint256 public ghostMinted;
    uint256 public ghostBurned;
    /// @notice Whether the registry is paused, by the model.
    bool public ghostPaused;
    /// @notice Payouts (withdraw, bounty, claim) whose amount differed from the model. A failed
    ///         check inside a handler would only revert the action, which the fuzzer ignores, so
    ///         mismatches are counted here and the suite asserts the count stays 0.
    uint256 public ghostPayoutMismatches;
    /// @notice Calls the registry accepted although its rules refuse them (same counting reason).
    uint256 public ghostRuleBreaks;

    constructor(
        Clock clock_,
        VerToken ver_,
        NodeRegistry registry_,
        bytes32[] memory classes_,
        uint256[] memory minStakes,
        uint256[] memory wattLimits,
        INodeRegistry.Parameters memory params,
        address governor_
    ) HandlerBase(clock_, "contributor", 5) {
        ver = ver_;
        registry = registry_;
        governor = governor_;
        compensationSink = makeAddr("compensation-sink");
        for (uint256 i = 0; i < classes_.length; ++i) {
            _classes.push(classes_[i]);
            _minStake[classes_[i]] = minStakes[i];
            _wattLimit[classes_[i]] = wattLimits[i];
        }
        _params = params;
    }

    // ---------------------------------------------------------------- contributor actions

    /// @notice A contributor registers a node (approve + register, or one call with a permit).
    function register(
        uint256 actorSeed,
        uint256 classSeed,
        uint256 capacity,
        uint256 price,
        uint256 stake,
        bool withPermit
    ) external synced {
        address owner = _actor(actorSeed);
        bytes32 class = _classes[classSeed % _classes.length];
        uint256 minStake = _minStake[class];
        capacity = bound(capacity, 1, MAX_CAPACITY);
        price = bound(price, 1, MAX_PRICE);
        stake = bound(stake, minStake, minStake * 20);

        ver.mint(owner, stake);
        ghostMinted += stake;
        uint256 nodeId;
        if (withPermit) {
            (uint8 v, bytes32 r, bytes32 s) = _signPermit(owner, stake);
            vm.prank(owner);
            nodeId = registry.registerWithPermit(
                class, capacity, price, stake, "ipfs://node", block.timestamp, v, r, s
            );
        } else {
            vm.prank(owner);
            ver.approve(address(registry), stake);
            vm.prank(owner);
            nodeId = registry.register(class, capacity, price, stake, "ipfs://node");
        }

        _nodeIds.push(nodeId);
        ghostOwner[nodeId] = owner;
        ghostClass[nodeId] = class;
        ghostStatus[nodeId] = INodeRegistry.Status.Active;
        ghostStake[nodeId] = stake;
        ghostCapacity[nodeId] = capacity;
        ghostLastBeat[nodeId] = block.timestamp;
        ghostTotalStake += stake;
        ghostVerIn += stake;
        if (ghostPaused) ++ghostPayoutMismatches; // a registration while paused
        ++calls["register"];
    }

    /// @notice The node's owner sends a heartbeat some time later; watts sometimes exceed the
    ///         class limit; the energy counter (measured power) is absent, grows, jumps, is lost
    ///         or goes backwards (refused), and the energy credited follows the rule of
    ///         INodeRegistry.heartbeat in the model.
    function heartbeat(uint256 nodeSeed, uint256 loadBps, uint256 watts) external synced {
        (uint256 nodeId, address owner) = _node(nodeSeed);
        if (nodeId == 0) return;
        // up to two heartbeat timeouts pass first (the credited interval is capped)
        clock.advance(bound(loadBps >> 16, 0, 2 * _params.heartbeatTimeout));
        uint256 mode = (watts >> 16) % 4;
        loadBps = bound(loadBps & 0xffff, 0, MAX_BPS);
        watts = bound(watts & 0xffff, 0, 1_500);
        uint256 baseline = ghostCounter[nodeId];
        uint256 counter = mode == 0 ? 0 : mode == 1 ? baseline + (loadBps + 1) * 1e6 : mode == 2 ? baseline + 2 ** 60 : baseline;

        vm.prank(owner);
        registry.heartbeat(nodeId, loadBps, watts, counter);
        _credit(nodeId, watts, counter);
        ghostLastBeat[nodeId] = block.timestamp; // voids any suspicion

        INodeRegistry.Status status = ghostStatus[nodeId];
        if (status == INodeRegistry.Status.Active || status == INodeRegistry.Status.Throttled) {
            uint256 limit = _wattLimit[ghostClass[nodeId]];
            ghostStatus[nodeId] = (limit != 0 && watts > limit)
                ? INodeRegistry.Status.Throttled
                : INodeRegistry.Status.Active;
        }
        // Any other status stays as it is: the invariant suite then sees a registry that accepted
        // a heartbeat it should have refused only if the registry's status moved.
        ++calls["heartbeat"];
    }

    /// @dev The model of a heartbeat's energy (INodeRegistry.heartbeat): the interval since the
    ///      last heartbeat capped at the timeout; watts x interval without a counter or for the
    ///      first counter, else the counter's increase capped at 2^24 - 1 W x interval (the
    ///      baseline then moves by the credited part, the rest is credited later).
    function _credit(uint256 nodeId, uint256 watts, uint256 counter) internal {
        uint256 interval = block.timestamp - ghostLastBeat[nodeId];
        if (interval > _params.heartbeatTimeout) interval = _params.heartbeatTimeout;
        uint256 baseline = ghostCounter[nodeId];
        uint256 earned;
        if (counter == 0 || baseline == 0) {
            earned = watts * interval;
        } else {
            earned = counter - baseline;
            if (earned > (2 ** 24 - 1) * _params.heartbeatTimeout) {
                earned = watts * interval; // a glitch: estimated, the counter the new baseline
            } else if (earned > (2 ** 24 - 1) * interval) {
                earned = (2 ** 24 - 1) * interval;
                counter = baseline + earned; // the baseline moves by the credited part only
            }
        }
        ghostEnergy[nodeId] += earned;
        ghostClassEnergy[ghostClass[nodeId]] += earned;
        if (counter != 0) ghostClassMeasured[ghostClass[nodeId]] += earned;
        ghostCounter[nodeId] = counter;
    }

    /// @notice The owner declares the node's renewable share (over 10000 bps: refused).
    function declareRenewableShare(uint256 nodeSeed, uint256 shareBps) external synced {
        (uint256 nodeId, address owner) = _node(nodeSeed);
        if (nodeId == 0) return;
        shareBps = bound(shareBps, 0, 10_500);
        vm.prank(owner);
        registry.declareRenewableShare(nodeId, shareBps, "ipfs://evidence");
        ghostRenewable[nodeId] = shareBps;
        ++calls["declareRenewableShare"];
    }

    /// @notice The owner changes the price.
    function updatePrice(uint256 nodeSeed, uint256 price) external synced {
        (uint256 nodeId, address owner) = _node(nodeSeed);
        if (nodeId == 0) return;
        vm.prank(owner);
        registry.updatePrice(nodeId, bound(price, 1, MAX_PRICE));
        ++calls["updatePrice"];
    }

    /// @notice The owner changes the capacity (sometimes below the reserved units: rejected).
    function updateCapacity(uint256 nodeSeed, uint256 capacity) external synced {
        (uint256 nodeId, address owner) = _node(nodeSeed);
        if (nodeId == 0) return;
        capacity = bound(capacity, 1, MAX_CAPACITY);
        vm.prank(owner);
        registry.updateCapacity(nodeId, capacity);
        ghostCapacity[nodeId] = capacity;
        ++calls["updateCapacity"];
    }

    /// @notice The owner adds stake.
    function addStake(uint256 nodeSeed, uint256 amount) external synced {
        (uint256 nodeId, address owner) = _node(nodeSeed);
        if (nodeId == 0) return;
        amount = bound(amount, 0, 10_000e18);
        ver.mint(owner, amount);
        ghostMinted += amount;
        vm.prank(owner);
        ver.approve(address(registry), amount);
        vm.prank(owner);
        registry.addStake(nodeId, amount);
        ghostStake[nodeId] += amount;
        ghostTotalStake += amount;
        ghostVerIn += amount;
        ++calls["addStake"];
    }

    /// @notice The owner starts the exit of the node.
    function requestExit(uint256 nodeSeed) external synced {
        (uint256 nodeId, address owner) = _node(nodeSeed);
        if (nodeId == 0) return;
        vm.prank(owner);
        registry.requestExit(nodeId);
        ghostStatus[nodeId] = INodeRegistry.Status.Exiting;
        ++calls["requestExit"];
    }

    /// @notice The owner takes the remaining stake back after unbonding (exit or failure).
    function withdraw(uint256 nodeSeed) external synced {
        (uint256 nodeId, address owner) = _node(nodeSeed);
        if (nodeId == 0) return;
        uint256 before = ver.balanceOf(owner);
        _armReentry(abi.encodeCall(INodeRegistry.withdraw, (nodeId)));
        vm.prank(owner);
        registry.withdraw(nodeId);
        _disarmReentry();

        uint256 stake = ghostStake[nodeId];
        if (ver.balanceOf(owner) - before != stake) ++ghostPayoutMismatches;
        ghostStake[nodeId] = 0;
        ghostTotalStake -= stake;
        ghostVerOut += stake;
        if (ghostStatus[nodeId] == INodeRegistry.Status.Exiting) {
            ghostStatus[nodeId] = INodeRegistry.Status.Exited;
        }
        ++calls["withdraw"];
    }

    /// @notice Any actor reports a node whose heartbeat timed out (often too early, or inside a
    ///         suspicion's grace: rejected). The first accepted report only raises a suspicion;
    ///         one after its grace, with no heartbeat since, fails the node.
    function reportFailure(uint256 nodeSeed, uint256 reporterSeed) external synced {
        (uint256 nodeId,) = _node(nodeSeed);
        if (nodeId == 0) return;
        address reporter = _actor(reporterSeed);
        bool suspected = ghostSuspectedAt[nodeId] > ghostLastBeat[nodeId];
        if (!suspected) {
            vm.prank(reporter);
            registry.reportFailure(nodeId);
            ghostSuspectedAt[nodeId] = block.timestamp;
            ghostFailableAt[nodeId] = block.timestamp + _params.failureGrace;
            ghostSuspecter[nodeId] = reporter;
            ++calls["suspect"];
            return;
        }
        address suspecter = ghostSuspecter[nodeId];
        uint256 before = ver.balanceOf(suspecter);
        _armReentry(abi.encodeCall(INodeRegistry.reportFailure, (nodeId)));
        vm.prank(reporter);
        registry.reportFailure(nodeId);
        _disarmReentry();

        uint256 slashed = ghostStake[nodeId] * _params.slashBps / MAX_BPS;
        uint256 bounty = slashed * _params.reporterBountyBps / MAX_BPS;
        uint256 pool = slashed - bounty - slashed * _params.burnBps / MAX_BPS;
        uint256 reserved = ghostReserved[nodeId];
        uint256 perUnit = reserved == 0 ? 0 : pool / reserved;
        uint256 held = perUnit * reserved;
        if (ver.balanceOf(suspecter) - before != bounty) ++ghostPayoutMismatches;
        ghostStake[nodeId] -= slashed;
        ghostTotalStake -= slashed;
        ghostCompensation[nodeId] = held;
        ghostPerUnit[nodeId] = perUnit;
        ghostTotalCompensation += held;
        ghostVerOut += slashed - held; // the bounty, and what is burned
        ghostBurned += slashed - bounty - held;
        ghostStatus[nodeId] = INodeRegistry.Status.Failed;
        ghostEverFailed[nodeId] = true;
        ghostSuspectedAt[nodeId] = 0;
        ++calls["reportFailure"];
    }

    // ---------------------------------------------------------------- market actions

    /// @notice The market reserves units for an assignment.
    function reserve(uint256 nodeSeed, uint256 units) external synced {
        (uint256 nodeId,) = _node(nodeSeed);
        if (nodeId == 0) return;
        units = bound(units, 1, MAX_CAPACITY / 4);
        registry.reserve(nodeId, units);
        ghostReserved[nodeId] += units;
        ++calls["reserve"];
    }

    /// @notice The market releases units of a closed assignment, naming the owner it recorded;
    ///         a failed node's units only ever leave with their compensation (claim below), so a
    ///         release the registry accepts on a Failed node counts as a rule break. `liar` names
    ///         someone else as the owner, which the registry must refuse as well.
    function release(uint256 nodeSeed, uint256 units, bool liar) external synced {
        (uint256 nodeId, address owner) = _node(nodeSeed);
        if (nodeId == 0) return;
        units = bound(units, 0, ghostReserved[nodeId]);
        registry.release(nodeId, liar ? governor : owner, units);
        if (liar || ghostStatus[nodeId] == INodeRegistry.Status.Failed) ++ghostRuleBreaks;
        ghostReserved[nodeId] -= units;
        ++calls["release"];
    }

    /// @notice The market releases units of a failed node and takes their compensation.
    function claimCompensation(uint256 nodeSeed, uint256 units) external synced {
        (uint256 nodeId,) = _node(nodeSeed);
        if (nodeId == 0) return;
        units = bound(units, 0, ghostReserved[nodeId]);
        uint256 before = ver.balanceOf(compensationSink);
        uint256 amount = registry.claimCompensation(nodeId, units, compensationSink);
        uint256 want = units * ghostPerUnit[nodeId];
        if (amount != want || ver.balanceOf(compensationSink) - before != want) ++ghostPayoutMismatches;
        ghostReserved[nodeId] -= units;
        ghostCompensation[nodeId] -= want;
        ghostTotalCompensation -= want;
        ghostVerOut += want;
        ++calls["claimCompensation"];
    }

    // ---------------------------------------------------------------- others

    /// @notice Someone sends VER to the registry without calling it; it must not count as stake.
    function donate(uint256 actorSeed, uint256 amount) external synced {
        address donor = _actor(actorSeed);
        amount = bound(amount, 1, 1_000e18);
        ver.mint(donor, amount);
        ghostMinted += amount;
        vm.prank(donor);
        ver.transfer(address(registry), amount);
        ghostDonated += amount;
        ++calls["donate"];
    }

    /// @notice Governance changes the parameters, within the on-chain bounds. A failure already
    ///         reported keeps the terms it was reported under.
    function setParameters(uint256 timeout, uint256 unbonding, uint256 slashBps, uint256 bountyBps, uint256 grace)
        external
        synced
    {
        uint16 bounty = uint16(bound(bountyBps, 0, 5_000));
        INodeRegistry.Parameters memory params = INodeRegistry.Parameters({
            heartbeatTimeout: uint32(bound(timeout, 60, 1 hours)),
            unbondingPeriod: uint32(bound(unbonding, 1 hours, 1 days)),
            slashBps: uint16(bound(slashBps, 100, 5_000)),
            reporterBountyBps: bounty,
            failureGrace: uint32(bound(grace, 60, 30 minutes)),
            burnBps: uint16(bound(slashBps >> 16, 2_500, MAX_BPS - bounty))
        });
        vm.prank(governor);
        registry.setParameters(params);
        _params = params;
        ++calls["setParameters"];
    }

    /// @notice The pauser toggles the pause: registrations stop, nothing else does.
    function togglePause() external synced {
        vm.prank(governor);
        if (ghostPaused) registry.unpause();
        else registry.pause();
        ghostPaused = !ghostPaused;
        ++calls["togglePause"];
    }

    // ---------------------------------------------------------------- views for the suite

    /// @notice Every node id this handler registered.
    function nodeIds() external view returns (uint256[] memory) {
        return _nodeIds;
    }

    /// @notice The resource classes in play.
    function classes() external view returns (bytes32[] memory) {
        return _classes;
    }

    // ---------------------------------------------------------------- internal

    function _node(uint256 seed) internal view returns (uint256 nodeId, address owner) {
        if (_nodeIds.length == 0) return (0, address(0));
        nodeId = _nodeIds[seed % _nodeIds.length];
        owner = ghostOwner[nodeId];
    }

    function _signPermit(address owner, uint256 value)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
                ),
                owner,
                address(registry),
                value,
                IERC20Permit(address(ver)).nonces(owner),
                block.timestamp
            )
        );
        bytes32 digest = keccak256(
            abi.encodePacked("\x19\x01", IERC20Permit(address(ver)).DOMAIN_SEPARATOR(), structHash)
        );
        return vm.sign(_keys[owner], digest);
    }
}
