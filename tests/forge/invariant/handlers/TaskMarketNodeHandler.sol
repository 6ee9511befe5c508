// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Vm} from "forge-std/Vm.sol";
import {VerToken} from "../../../../contracts/VerToken.sol";
import {NodeRegistry} from "../../../../contracts/NodeRegistry.sol";
import {INodeRegistry} from "../../../../contracts/interfaces/INodeRegistry.sol";
import {ITaskMarket} from "../../../../contracts/interfaces/ITaskMarket.sol";
import {Clock} from "../../utils/Clock.sol";
import {HandlerBase} from "./HandlerBase.sol";
import {TaskMarketHandler} from "./TaskMarketHandler.sol";

/// @title TaskMarketNodeHandler
/// @notice The NodeRegistry side of the TaskMarket suites: contributors register nodes, send
///         heartbeats, exit and withdraw their stake; anyone reports failures (a suspicion, then
///         the failure once the grace passed); a node running work crashes. The model
///         lives in TaskMarketHandler (which the hooks called here update); this contract is
///         apart only to keep each handler under the 24 KiB code size limit.
/// @dev Needs VER MINTER_ROLE. Its actors are the market handler's (same names, same addresses).
///      The etched re-entrant receivers of the callback suite replay what the market handler
///      arms, so the reporter's bounty is not replayed here (the NodeRegistry suite does that).
contract TaskMarketNodeHandler is HandlerBase {
    /// @dev As in TaskMarketHandler: actors 0-2 are developers, 3-5 contributors.
    uint256 internal constant DEVELOPERS = 3;
    uint256 internal constant CONTRIBUTORS = 3;
    uint256 internal constant MAX_BPS = 10_000;
    uint256 internal constant MAX_CAPACITY = 16;
    uint256 internal constant MIN_PRICE = 1e15;
    uint256 internal constant MAX_NODE_PRICE = 1e18;
    /// @dev The estimated-power heartbeat (the registry also takes an energy counter).
    string internal constant HEARTBEAT = "heartbeat(uint256,uint256,uint256)";
    bytes32 internal constant NODE_SUSPECTED = keccak256("NodeSuspected(uint256,address,uint256)");
    bytes32 internal constant NODE_FAILED =
        keccak256("NodeFailed(uint256,address,uint256,uint256,uint256,uint256,uint256,uint256)");

    VerToken public immutable ver;
    NodeRegistry public immutable registry;
    TaskMarketHandler public immutable model;

    bytes32[] internal _classes;
    mapping(bytes32 class => uint256) internal _minStake;
    /// @dev Who raised the live suspicion of a node (the bounty goes there).
    mapping(uint256 nodeId => address) internal _suspecter;

    constructor(
        Clock clock_,
        VerToken ver_,
        NodeRegistry registry_,
        TaskMarketHandler model_,
        bytes32[] memory classes_,
        uint256[] memory minStakes
    ) HandlerBase(clock_, "market-actor", DEVELOPERS + CONTRIBUTORS) {
        ver = ver_;
        registry = registry_;
        model = model_;
        for (uint256 i = 0; i < classes_.length; ++i) {
            _classes.push(classes_[i]);
            _minStake[classes_[i]] = minStakes[i];
        }
    }

    /// @notice A contributor registers a node (one live node per owner and class).
    function registerNode(uint256 ownerSeed, uint256 classSeed, uint256 capacity, uint256 price, uint256 stake)
        external
        synced
    {
        address owner = _contributor(ownerSeed);
        bytes32 class = _classes[classSeed % _classes.length];
        capacity = bound(capacity, 1, MAX_CAPACITY);
        price = bound(price, MIN_PRICE, MAX_NODE_PRICE);
        stake = bound(stake, _minStake[class], _minStake[class] * 3);
        ver.mint(owner, stake);
        vm.prank(owner);
        ver.approve(address(registry), stake);
        (bool ok, bytes memory ret) = _call(
            owner, abi.encodeCall(INodeRegistry.register, (class, capacity, price, stake, "ipfs://n"))
        );
        if (!ok) return;
        model.recordNode(abi.decode(ret, (uint256)), owner, class, capacity, price, stake);
        ++calls["registerNode"];
    }

    /// @notice The node's owner sends a heartbeat a little later (watts sometimes above the GPU
    ///         limit: throttled).
    function heartbeat(uint256 nodeSeed, uint256 watts) external synced {
        uint256 nodeId = _node(nodeSeed);
        if (nodeId == 0) return;
        // a heartbeat interval passes first (up to 5 minutes)
        clock.advance(bound(watts >> 16, 0, 5 minutes));
        watts = bound(watts & 0xffff, 0, 800);
        address owner = model.ghostNode(nodeId).owner;
        (bool ok,) = _call(owner, abi.encodeWithSignature(HEARTBEAT, nodeId, 5_000, watts));
        if (ok) ++calls["heartbeat"];
    }

    /// @notice The owner starts the node's exit (its running assignments go on); one call in four.
    function requestExit(uint256 nodeSeed) external synced {
        // one call in four: exiting nodes take no new work
        if (nodeSeed % 4 != 0) return;
        uint256 nodeId = _node(nodeSeed >> 2);
        if (nodeId == 0) return;
        (bool ok,) = _call(model.ghostNode(nodeId).owner, abi.encodeCall(INodeRegistry.requestExit, (nodeId)));
        if (ok) ++calls["requestExit"];
    }

    /// @notice The allocator consumes a VRF draw of an assignment (what every reassignment entry
    ///         of a committee report does, applied or skipped).
    function drawReassignment(uint256 assignmentSeed) external synced {
        uint256 count = model.assignmentCount();
        if (count == 0) return;
        uint256 id = assignmentSeed % count + 1;
        address market = address(model.market());
        vm.prank(address(model)); // the model holds ALLOCATOR_ROLE
        (bool ok, bytes memory ret) = market.call(abi.encodeCall(ITaskMarket.drawReassignment, (id)));
        if (!ok) return;
        (uint256 taskId,, uint256 attempt,) = abi.decode(ret, (uint256, uint256, uint256, ITaskMarket.AssignmentStatus));
        model.recordDraw(id, taskId, attempt);
        ++calls["drawReassignment"];
    }

    /// @notice The pauser toggles the network's pause; the model then expects
    ///         new tasks, top-ups, allocations and registrations to be refused, nothing else.
    function togglePause(uint256 seed) external synced {
        bool paused = registry.paused();
        // paused for short spells: a pause one call in sixteen, lifted one call in two
        if (seed % (paused ? 2 : 16) != 0) return;
        (bool ok,) = _call(
            address(model), paused ? abi.encodeCall(INodeRegistry.unpause, ()) : abi.encodeCall(INodeRegistry.pause, ())
        );
        if (!ok) return;
        model.recordPause(!paused);
        ++calls["togglePause"];
    }

    /// @notice The owner withdraws the stake of an exited (or failed) node once unbonding is
    ///         over and nothing is reserved on it (often too early: rejected).
    function withdrawStake(uint256 nodeSeed) external synced {
        uint256 nodeId = _node(nodeSeed);
        if (nodeId == 0) return;
        address owner = model.ghostNode(nodeId).owner;
        uint256 before = ver.balanceOf(owner);
        (bool ok,) = _call(owner, abi.encodeCall(INodeRegistry.withdraw, (nodeId)));
        if (!ok) return;
        model.recordWithdrawal(nodeId, ver.balanceOf(owner) - before);
        ++calls["withdrawStake"];
    }

    /// @notice Anyone reports a node whose heartbeat timed out (often too early, or within the
    ///         grace of a suspicion: rejected); the first report suspects, the next fails.
    function reportFailure(uint256 nodeSeed, uint256 reporterSeed) external synced {
        // mostly a node running work (the interesting failures), else any node
        uint256 nodeId = nodeSeed % 4 == 0 ? 0 : model.runningNode(nodeSeed >> 2);
        if (nodeId == 0) nodeId = _node(nodeSeed >> 2);
        if (nodeId == 0) return;
        (bool ok, bool failed) = _reportFailure(nodeId, _actor(reporterSeed));
        if (ok) ++calls[failed ? bytes32("reportFailure") : bytes32("suspect")];
    }

    /// @notice A node running work crashes while the others keep beating: the heartbeat timeout
    ///         passes, every other live node sends a heartbeat, someone suspects the crashed node,
    ///         the grace passes (the others beat again) and it is reported failed. One time in two
    ///         a watcher settles the failure right away. (Failures from plain warps mostly come
    ///         after the tasks ended; these strike open tasks, whose units go back pending and
    ///         get reassigned.)
    function crashNode(uint256 assignmentSeed, uint256 reporterSeed) external synced {
        uint256 nodeId = model.runningNode(assignmentSeed);
        if (nodeId == 0 || model.ghostNode(nodeId).failed) return;
        INodeRegistry.Parameters memory p = registry.parameters();
        address reporter = _actor(reporterSeed);
        _othersBeat(nodeId, p.heartbeatTimeout + 1);
        (bool ok, bool failed) = _reportFailure(nodeId, reporter);
        if (!ok) return;
        if (!failed) {
            _othersBeat(nodeId, p.failureGrace);
            (ok, failed) = _reportFailure(nodeId, reporter);
            if (!ok || !failed) return;
        }
        ++calls["crashNode"];
        if (reporterSeed & 0x100 != 0) model.settleFailureNow(nodeId);
    }

    // ---------------------------------------------------------------- internal

    /// @dev Calls the registry as `caller` (a rejected call changes nothing; the registry's own
    ///      arithmetic is the NodeRegistry suite's concern).
    function _call(address caller, bytes memory data) internal returns (bool ok, bytes memory ret) {
        vm.prank(caller);
        (ok, ret) = address(registry).call(data);
    }

    /// @dev `seconds_` pass and every live node but `nodeId` sends a heartbeat.
    function _othersBeat(uint256 nodeId, uint256 seconds_) internal {
        clock.advance(seconds_);
        uint256[] memory ids = model.nodeIds();
        for (uint256 i = 0; i < ids.length; ++i) {
            if (ids[i] == nodeId) continue;
            // Active, Throttled or Exiting nodes beat; the registry refuses the others
            _call(model.ghostNode(ids[i]).owner, abi.encodeWithSignature(HEARTBEAT, ids[i], 5_000, 0));
        }
    }

    /// @dev `reporter` reports `nodeId`: (accepted, it was the failure rather than a suspicion).
    ///      On a failure the slash, bounty, burn and per-unit compensation the model expects
    ///      (from its stake and reserved units and the parameters) go into the model, checked
    ///      against the event and the bounty actually paid to the suspicion's reporter.
    function _reportFailure(uint256 nodeId, address reporter) internal returns (bool ok, bool failed) {
        TaskMarketHandler.GhostNode memory n = model.ghostNode(nodeId);
        address suspecter = _suspecter[nodeId];
        uint256 before = suspecter == address(0) ? 0 : ver.balanceOf(suspecter);
        vm.recordLogs();
        (ok,) = _call(reporter, abi.encodeCall(INodeRegistry.reportFailure, (nodeId)));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        if (!ok) return (false, false);
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].emitter != address(registry)) continue;
            if (logs[i].topics[0] == NODE_SUSPECTED) {
                _suspecter[nodeId] = reporter;
                return (true, false);
            }
            if (logs[i].topics[0] != NODE_FAILED) continue;
            Slash memory want = _expectedSlash(n.stake, n.reserved);
            bool paidOk = address(uint160(uint256(logs[i].topics[2]))) == suspecter
                && ver.balanceOf(suspecter) - before == want.bounty && _eventMatches(logs[i].data, want);
            model.recordFailure(nodeId, want.slashed, want.bounty, want.burned, want.perUnit, paidOk);
            delete _suspecter[nodeId];
            return (true, true);
        }
        return (true, false);
    }

    struct Slash {
        uint256 slashed;
        uint256 bounty;
        uint256 burned;
        uint256 perUnit;
    }

    /// @dev The split the rules give for a node of `stake` with `reserved` units, under the
    ///      registry's current parameters.
    function _expectedSlash(uint256 stake, uint256 reserved) internal view returns (Slash memory want) {
        INodeRegistry.Parameters memory p = registry.parameters();
        want.slashed = stake * p.slashBps / MAX_BPS;
        want.bounty = want.slashed * p.reporterBountyBps / MAX_BPS;
        uint256 pool = want.slashed - want.bounty - want.slashed * p.burnBps / MAX_BPS;
        want.perUnit = reserved == 0 ? 0 : pool / reserved;
        want.burned = want.slashed - want.bounty - want.perUnit * reserved;
    }

    /// @dev Whether NodeFailed's data (slashed, bounty, burned, held, units, perUnit) is `want`.
    function _eventMatches(bytes memory data, Slash memory want) internal pure returns (bool) {
        (uint256 slashed, uint256 bounty, uint256 burned,,, uint256 perUnit) =
            abi.decode(data, (uint256, uint256, uint256, uint256, uint256, uint256));
        return slashed == want.slashed && bounty == want.bounty && burned == want.burned && perUnit == want.perUnit;
    }

    function _contributor(uint256 seed) internal view returns (address) {
        return _actors[DEVELOPERS + seed % CONTRIBUTORS];
    }

    function _node(uint256 seed) internal view returns (uint256) {
        uint256[] memory ids = model.nodeIds();
        return ids.length == 0 ? 0 : ids[seed % ids.length];
    }
}
