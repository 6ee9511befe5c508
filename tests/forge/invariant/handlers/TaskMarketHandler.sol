// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Vm} from "forge-std/Vm.sol";
import {VerToken} from "../../../../contracts/VerToken.sol";
import {NodeRegistry} from "../../../../contracts/NodeRegistry.sol";
import {TaskMarket} from "../../../../contracts/TaskMarket.sol";
import {CheckpointRegistry} from "../../../../contracts/CheckpointRegistry.sol";
import {INodeRegistry} from "../../../../contracts/interfaces/INodeRegistry.sol";
import {ITaskMarket} from "../../../../contracts/interfaces/ITaskMarket.sol";
import {ICheckpointRegistry} from "../../../../contracts/interfaces/ICheckpointRegistry.sol";
import {Clock} from "../../utils/Clock.sol";
import {HandlerBase} from "./HandlerBase.sol";

/// @title TaskMarketHandler
/// @notice Drives TaskMarket and its CheckpointRegistry: developers submit, top up, cancel (also
///         right before a node's final checkpoint) and claim refunds and compensation;
///         contributors checkpoint, complete and withdraw; the handler itself allocates (the
///         registry's ALLOCATOR_ROLE: assign, move, reassign, VRF draws) and pauses; anyone
///         settles failed nodes (pages of their running assignments, in any order, overlapping)
///         and assignments of ended tasks. TaskMarketNodeHandler drives the NodeRegistry side
///         (register, heartbeat, exit and withdraw, failures, crashes) and reports to this one,
///         which keeps the whole model: every task, assignment and node, and the VER each
///         contract holds.
/// @dev Needs VER MINTER_ROLE and the registry's ALLOCATOR_ROLE and PAUSER_ROLE. Every action is
///      a low-level call: a rejected call leaves the model untouched, and a rejection by an
///      arithmetic panic (the market's checked `escrow -= earned` running short, say) is counted
///      in `ghostPanics`, which the suite asserts stays 0, since the fuzzer itself ignores
///      reverted calls. Calls the rules say must fail but were accepted (a failed node that
///      commits, a checkpoint after the deadline, an allocation off the node's ask, a new task
///      while paused) are counted in `ghostRuleBreaks`; payouts owed but refused in
///      `ghostPayoutsBlocked`. Both must stay 0.
contract TaskMarketHandler is HandlerBase {
    /// @dev The node handler makes the same actors (same names, so the same addresses).
    string internal constant ACTOR_PREFIX = "market-actor";
    uint256 internal constant DEVELOPERS = 3;
    uint256 internal constant CONTRIBUTORS = 3;
    uint256 internal constant HOUR = 3600;
    uint256 internal constant MAX_TASK_UNITS = 8;
    uint256 internal constant MIN_PRICE = 1e15;
    uint256 internal constant MAX_TASK_PRICE = 2e18;
    uint256 internal constant WINDOW = 1 hours; // TaskMarket.COMPLETION_WINDOW
    bytes4 internal constant PANIC = 0x4e487b71;
    bytes32 internal constant ASSIGNMENT_CLOSED =
        keccak256("AssignmentClosed(uint256,uint256,uint256,uint8,uint256,uint256)");

    VerToken public immutable ver;
    NodeRegistry public immutable registry;
    TaskMarket public immutable market;
    CheckpointRegistry public immutable checkpoints;

    bytes32[] internal _classes;

    // ---------------------------------------------------------------- ghosts (the model)

    struct GhostTask {
        address developer;
        bytes32 class;
        uint256 maxPrice;
        uint256 pending;
        uint256 running;
        uint256 expiresAt;
        uint256 deposited; // escrow pulled at submission + every top-up
        uint256 paid; // earnings of its assignments
        uint256 refunded;
        bool cancelled; // checkpoints then close WINDOW after expiresAt
    }

    struct GhostAssignment {
        uint256 taskId;
        uint256 nodeId;
        address owner;
        uint256 units;
        uint256 price;
        uint256 startAt;
        uint256 lastCheckpointAt; // of the checkpoints this handler committed (or complete's)
        uint256 step;
        ITaskMarket.AssignmentStatus status;
        uint256 resumesFrom;
        uint256 modelPaidUntil; // min(lastCheckpointAt, task end at close): the model's bound
        uint256 paidUntil; // as the market reported it (AssignmentClosed)
        uint256 earned; // as the market reported it (and credited: checked against earningsOf)
    }

    struct GhostNode {
        address owner;
        bytes32 class;
        uint256 capacity;
        uint256 price;
        uint256 stake;
        uint256 compensationHeld;
        uint256 reserved; // units of this node's Running assignments
        bool failed;
        uint256 perUnit; // compensation per reserved unit, fixed at the failure
        uint256[] running; // ids of its Running assignments, for settleNodeFailure
    }

    /// @notice The handler of the node actions, the only caller of the hooks below.
    address public nodeHandler;

    uint256 public taskCount;
    uint256 public assignmentCount;
    uint256[] internal _nodeIds;
    mapping(uint256 taskId => GhostTask) internal _tasks;
    mapping(uint256 assignmentId => GhostAssignment) internal _assignments;
    mapping(uint256 nodeId => GhostNode) internal _nodes;
    /// @notice VRF draws consumed per assignment, by the model.
    mapping(uint256 assignmentId => uint256) public ghostDraws;
    /// @notice Whether the registry (and so the market) is paused, by the model.
    bool public ghostPaused;

    /// @notice Earnings and compensation owed per account, by the model.
    mapping(address account => uint256) public ghostEarningsOf;
    mapping(address account => uint256) public ghostCompensationOf;

    /// @notice The market's three totals, by the model.
    uint256 public ghostTotalEscrow;
    uint256 public ghostTotalEarnings;
    uint256 public ghostTotalCompensation;
    /// @notice VER that entered the market (escrow, top-ups, compensation claimed from the
    ///         registry) and left it (refunds, withdrawals, compensation claims).
    uint256 public ghostMarketIn;
    uint256 public ghostMarketOut;

    /// @notice The registry's totals and flows, by the model.
    uint256 public ghostRegistryStake;
    uint256 public ghostRegistryCompensation;
    uint256 public ghostRegistryIn;
    uint256 public ghostRegistryOut;

    /// @notice Payouts or credits that differed from the market's report or the model.
    uint256 public ghostPayoutMismatches;
    /// @notice Calls rejected with a Solidity panic (overflow, underflow, ...): must stay 0.
    uint256 public ghostPanics;
    /// @notice Calls the rules forbid that the market accepted (must stay 0).
    uint256 public ghostRuleBreaks;
    /// @notice Payouts the model owed that the market refused (must stay 0).
    uint256 public ghostPayoutsBlocked;

    error NotNodeHandler(address caller);

    modifier onlyNodeHandler() {
        if (msg.sender != nodeHandler) revert NotNodeHandler(msg.sender);
        _;
    }

    constructor(
        Clock clock_,
        VerToken ver_,
        NodeRegistry registry_,
        TaskMarket market_,
        bytes32[] memory classes_
    ) HandlerBase(clock_, ACTOR_PREFIX, DEVELOPERS + CONTRIBUTORS) {
        ver = ver_;
        registry = registry_;
        market = market_;
        checkpoints = CheckpointRegistry(market_.checkpointRegistry());
        _classes = classes_;
    }

    // ---------------------------------------------------------------- developers

    /// @notice A developer submits a task and escrows its maximum cost (refused while paused).
    function submitTask(uint256 devSeed, uint256 classSeed, uint256 units, uint256 maxPrice, uint256 duration)
        external
        synced
    {
        address developer = _developer(devSeed);
        bytes32 class = _classes[classSeed % _classes.length];
        units = bound(units, 1, MAX_TASK_UNITS);
        maxPrice = bound(maxPrice, MIN_PRICE, MAX_TASK_PRICE);
        duration = bound(duration, 30 minutes, 1 days);
        uint256 escrow = _ceilDiv(units * maxPrice * duration, HOUR);
        ver.mint(developer, escrow);
        vm.prank(developer);
        ver.approve(address(market), escrow);
        (bool ok, bytes memory ret) = _call(
            developer,
            address(market),
            abi.encodeCall(ITaskMarket.submitTask, (class, units, maxPrice, duration, "ipfs://spec"))
        );
        if (!ok) return;
        if (ghostPaused) ++ghostRuleBreaks;
        uint256 taskId = abi.decode(ret, (uint256));
        if (taskId != ++taskCount) ++ghostPayoutMismatches;
        GhostTask storage t = _tasks[taskId];
        (t.developer, t.class, t.maxPrice, t.pending) = (developer, class, maxPrice, units);
        t.expiresAt = block.timestamp + duration;
        t.deposited = escrow;
        ghostTotalEscrow += escrow;
        ghostMarketIn += escrow;
        ++calls["submitTask"];
    }

    /// @notice The developer adds escrow, which extends the task's end (refused while paused).
    function topUp(uint256 taskSeed, uint256 amount) external synced {
        uint256 taskId = _task(taskSeed);
        if (taskId == 0) return;
        GhostTask storage t = _tasks[taskId];
        amount = bound(amount, 1, 50e18);
        ver.mint(t.developer, amount);
        vm.prank(t.developer);
        ver.approve(address(market), amount);
        (bool ok,) = _call(t.developer, address(market), abi.encodeCall(ITaskMarket.topUp, (taskId, amount)));
        if (!ok) return;
        if (ghostPaused) ++ghostRuleBreaks;
        t.expiresAt += amount * HOUR / ((t.pending + t.running) * t.maxPrice);
        t.deposited += amount;
        ghostTotalEscrow += amount;
        ghostMarketIn += amount;
        ++calls["topUp"];
    }

    /// @notice The developer cancels: the task ends now; its checkpoints close WINDOW later.
    function cancel(uint256 taskSeed) external synced {
        uint256 taskId = _task(taskSeed);
        if (taskId == 0) return;
        if (_cancel(taskId)) ++calls["cancel"];
    }

    /// @notice The developer cancels a task just before one of its nodes delivers the final
    ///         checkpoint, and races to settle; the node completes `delay` later. Inside the
    ///         completion window the settlement is refused and the completion pays up to the
    ///         cancellation; after it, the completion is refused and the settlement pays the last
    ///         checkpoint.
    function cancelNearCompletion(uint256 assignmentSeed, uint256 delay) external synced {
        uint256 id = _runningAssignment(assignmentSeed);
        if (id == 0) return;
        GhostAssignment storage a = _assignments[id];
        if (!_cancel(a.taskId)) return;
        vm.recordLogs();
        (bool settled,) = _call(_tasks[a.taskId].developer, address(market), abi.encodeCall(ITaskMarket.settle, (id)));
        if (!_closures(settled, a.owner, a.nodeId)) {
            clock.advance(bound(delay, 0, 2 * WINDOW));
            _complete(id);
        } else {
            ++ghostRuleBreaks; // settled inside the completion window
        }
        ++calls["cancelNearCompletion"];
    }

    /// @notice The developer takes back the escrow left in an ended task.
    function claimRefund(uint256 taskSeed) external synced {
        uint256 taskId = _task(taskSeed);
        if (taskId == 0) return;
        GhostTask storage t = _tasks[taskId];
        uint256 amount = t.deposited - t.paid - t.refunded;
        bool owed = amount != 0 && t.running == 0 && (t.pending == 0 || block.timestamp >= t.expiresAt);
        uint256 before = ver.balanceOf(t.developer);
        _armReentry(abi.encodeCall(ITaskMarket.claimRefund, (taskId)));
        (bool ok,) = _call(t.developer, address(market), abi.encodeCall(ITaskMarket.claimRefund, (taskId)));
        _disarmReentry();
        _judge(ok, owed);
        if (!ok) return;
        if (ver.balanceOf(t.developer) - before != amount) ++ghostPayoutMismatches;
        t.refunded += amount;
        ghostTotalEscrow -= amount;
        ghostMarketOut += amount;
        ++calls["claimRefund"];
    }

    /// @notice A developer claims the compensation credited from failed nodes.
    function claimCompensation(uint256 devSeed) external synced {
        address developer = _developer(devSeed);
        uint256 amount = ghostCompensationOf[developer];
        uint256 before = ver.balanceOf(developer);
        _armReentry(abi.encodeCall(ITaskMarket.claimCompensation, ()));
        (bool ok,) = _call(developer, address(market), abi.encodeCall(ITaskMarket.claimCompensation, ()));
        _disarmReentry();
        _judge(ok, (amount != 0));
        if (!ok) return;
        if (ver.balanceOf(developer) - before != amount) ++ghostPayoutMismatches;
        ghostCompensationOf[developer] = 0;
        ghostTotalCompensation -= amount;
        ghostMarketOut += amount;
        ++calls["claimCompensation"];
    }

    // ---------------------------------------------------------------- contributors

    /// @notice The node commits a checkpoint of one of its running assignments, some time later;
    ///         refused once its node failed or its task takes no more checkpoints.
    function commitCheckpoint(uint256 assignmentSeed, uint256 stepJump, bool dagPb) external synced {
        uint256 id = _runningAssignment(assignmentSeed);
        if (id == 0) return;
        GhostAssignment storage a = _assignments[id];
        // the work took a while: up to 20 minutes pass before the checkpoint
        clock.advance(bound(stepJump >> 8, 0, 20 minutes));
        uint256 step = a.step + bound(stepJump & 0xff, 1, 3);
        bytes memory cid = _cid(dagPb ? 0x70 : 0x55, keccak256(abi.encode(id, step)));
        (bool ok,) =
            _call(a.owner, address(checkpoints), abi.encodeCall(ICheckpointRegistry.commit, (id, step, cid)));
        bool allowed = !_nodes[a.nodeId].failed && block.timestamp < _deadline(a.taskId);
        _judge(ok, allowed);
        if (!ok) return;
        a.step = step;
        a.lastCheckpointAt = block.timestamp;
        ++calls["commitCheckpoint"];
    }

    /// @notice The node completes an assignment with its final checkpoint: paid up to now (at
    ///         most the task's end); refused once its node failed or checkpoints closed.
    function complete(uint256 assignmentSeed) external synced {
        uint256 id = _runningAssignment(assignmentSeed);
        if (id == 0) return;
        if (_complete(id)) ++calls["complete"];
    }

    /// @notice A node owner withdraws its earnings (also while paused).
    function withdraw(uint256 ownerSeed) external synced {
        address owner = _contributor(ownerSeed);
        uint256 amount = ghostEarningsOf[owner];
        uint256 before = ver.balanceOf(owner);
        _armReentry(abi.encodeCall(ITaskMarket.withdraw, ()));
        (bool ok,) = _call(owner, address(market), abi.encodeCall(ITaskMarket.withdraw, ()));
        _disarmReentry();
        _judge(ok, (amount != 0));
        if (!ok) return;
        if (ver.balanceOf(owner) - before != amount) ++ghostPayoutMismatches;
        ghostEarningsOf[owner] = 0;
        ghostTotalEarnings -= amount;
        ghostMarketOut += amount;
        ++calls["withdraw"];
    }

    // ---------------------------------------------------------------- allocator (this handler)

    /// @notice Assigns pending units of a task to a node of its class at the node's ask; one time
    ///         in eight at another price, which the market must refuse.
    function assign(uint256 taskSeed, uint256 nodeSeed, uint256 units, uint256 price) external synced {
        uint256 taskId = _openTask(taskSeed);
        if (taskId == 0) return;
        GhostTask storage t = _tasks[taskId];
        if (t.pending == 0) return;
        uint256 nodeId = _nodeFor(nodeSeed, t.class, 1, t.maxPrice, 0);
        if (nodeId == 0) return;
        GhostNode storage n = _nodes[nodeId];
        if (n.price > t.maxPrice) return;
        uint256 free = n.capacity - n.reserved;
        if (free == 0) return;
        units = bound(units, 1, t.pending < free ? t.pending : free);
        bool offAsk = price % 8 == 0;
        price = offAsk ? bound(price >> 3, MIN_PRICE, t.maxPrice) : n.price;
        (bool ok, bytes memory ret) =
            _call(address(this), address(market), abi.encodeCall(ITaskMarket.assign, (taskId, nodeId, units, price)));
        if (!ok) return;
        if (ghostPaused || price != n.price) ++ghostRuleBreaks;
        t.pending -= units;
        t.running += units;
        _opened(abi.decode(ret, (uint256)), taskId, nodeId, units, price, 0);
        ++calls["assign"];
    }

    /// @notice Moves a running assignment to another node of its class (at that node's price);
    ///         refused for the assignments of a failed node.
    function move(uint256 assignmentSeed, uint256 nodeSeed) external synced {
        uint256 id = _runningAssignment(assignmentSeed);
        if (id == 0) return;
        GhostAssignment storage a = _assignments[id];
        GhostTask storage t = _tasks[a.taskId];
        uint256 toNodeId = _nodeFor(nodeSeed, t.class, a.units, t.maxPrice, a.nodeId);
        if (toNodeId == 0) return;
        bool sourceFailed = _nodes[a.nodeId].failed;
        vm.recordLogs();
        (bool ok, bytes memory ret) =
            _call(address(this), address(market), abi.encodeCall(ITaskMarket.move, (id, toNodeId)));
        if (!_closures(ok, a.owner, a.nodeId)) return;
        if (sourceFailed) ++ghostRuleBreaks;
        _opened(abi.decode(ret, (uint256)), a.taskId, toNodeId, a.units, _nodes[toNodeId].price, id);
        ++calls["move"];
    }

    /// @notice Resumes a failed assignment on another node of its class.
    function reassign(uint256 assignmentSeed, uint256 nodeSeed) external synced {
        uint256 id = _assignmentIn(assignmentSeed, ITaskMarket.AssignmentStatus.Failed);
        if (id == 0) return;
        GhostAssignment storage a = _assignments[id];
        GhostTask storage t = _tasks[a.taskId];
        uint256 toNodeId = _nodeFor(nodeSeed, t.class, a.units, t.maxPrice, 0);
        if (toNodeId == 0) return;
        (bool ok, bytes memory ret) =
            _call(address(this), address(market), abi.encodeCall(ITaskMarket.reassign, (id, toNodeId)));
        if (!ok) return;
        a.status = ITaskMarket.AssignmentStatus.Reassigned;
        t.pending -= a.units;
        t.running += a.units;
        _opened(abi.decode(ret, (uint256)), a.taskId, toNodeId, a.units, _nodes[toNodeId].price, id);
        ++calls["reassign"];
    }

    // ---------------------------------------------------------------- anyone

    /// @notice Anyone settles a page of a failed node's running assignments: a random subset in
    ///         a random order, sometimes with ids already settled.
    function settleNodeFailure(uint256 nodeSeed, uint256 pageSeed) external synced {
        uint256 nodeId = _failedNode(nodeSeed);
        if (nodeId == 0) return;
        if (_settleNodeFailure(nodeId, pageSeed)) ++calls["settleNodeFailure"];
    }

    /// @dev Settles a page of `nodeId`'s running assignments chosen by `pageSeed` (all of them
    ///      when pageSeed is 0); true if the market accepted it.
    function _settleNodeFailure(uint256 nodeId, uint256 pageSeed) internal returns (bool) {
        GhostNode storage n = _nodes[nodeId];
        uint256 count = n.running.length;
        uint256[] memory page = new uint256[](count + 1);
        uint256 size;
        for (uint256 i = 0; i < count; ++i) {
            // a rotation of the list, each id kept with probability 1/2 (all when pageSeed == 0)
            uint256 id = n.running[(i + pageSeed % count) % count];
            if (pageSeed == 0 || (pageSeed >> (i % 200)) & 1 == 1) page[size++] = id;
        }
        // sometimes an id that no longer runs (or a duplicate), which the market passes over; an
        // id running on another node would be a caller's mistake (TaskMarketAssignmentNotOnNode)
        if (pageSeed % 5 == 1 && assignmentCount != 0) {
            uint256 extra = pageSeed % assignmentCount + 1;
            GhostAssignment storage x = _assignments[extra];
            if (x.status != ITaskMarket.AssignmentStatus.Running || x.nodeId == nodeId) page[size++] = extra;
        }
        assembly ("memory-safe") {
            mstore(page, size)
        }
        return _settleFailurePage(nodeId, page, false);
    }

    /// @notice Anyone settles a running assignment of an ended task (paid to its last checkpoint;
    ///         settled as a failure when its node failed); refused in the completion window.
    function settle(uint256 assignmentSeed) external synced {
        uint256 id = _runningAssignment(assignmentSeed);
        if (id == 0) return;
        GhostAssignment storage a = _assignments[id];
        if (_nodes[a.nodeId].failed) {
            uint256[] memory one = new uint256[](1);
            one[0] = id;
            if (_settleFailurePage(a.nodeId, one, true)) ++calls["settle"];
            return;
        }
        bool due = block.timestamp >= _deadline(a.taskId);
        vm.recordLogs();
        (bool ok,) = _call(address(this), address(market), abi.encodeCall(ITaskMarket.settle, (id)));
        _judge(ok, due);
        if (!_closures(ok, a.owner, a.nodeId)) return;
        ++calls["settle"];
    }

    // ---------------------------------------------------------------- hooks (node handler only)

    /// @notice Links the node handler (once, by the suite).
    function setNodeHandler(address nodeHandler_) external {
        if (nodeHandler != address(0)) revert NotNodeHandler(msg.sender);
        nodeHandler = nodeHandler_;
    }

    /// @notice A node the registry accepted.
    function recordNode(uint256 nodeId, address owner, bytes32 class, uint256 capacity, uint256 price, uint256 stake)
        external
        onlyNodeHandler
    {
        if (ghostPaused) ++ghostRuleBreaks;
        _nodeIds.push(nodeId);
        GhostNode storage n = _nodes[nodeId];
        (n.owner, n.class, n.capacity, n.price, n.stake) = (owner, class, capacity, price, stake);
        ghostRegistryStake += stake;
        ghostRegistryIn += stake;
    }

    /// @notice A failure the registry accepted: `slashed` left the stake, `bounty` of it was paid
    ///         to the reporter (`paidOk`: the reporter received exactly that), `burned` was
    ///         burned, and `perUnit` is held for each reserved unit.
    function recordFailure(uint256 nodeId, uint256 slashed, uint256 bounty, uint256 burned, uint256 perUnit, bool paidOk)
        external
        onlyNodeHandler
    {
        GhostNode storage n = _nodes[nodeId];
        if (!paidOk) ++ghostPayoutMismatches;
        uint256 held = perUnit * n.reserved;
        if (bounty + burned + held != slashed) ++ghostPayoutMismatches;
        n.stake -= slashed;
        n.compensationHeld = held;
        n.perUnit = perUnit;
        n.failed = true;
        ghostRegistryStake -= slashed;
        ghostRegistryCompensation += held;
        ghostRegistryOut += bounty + burned;
    }

    /// @notice A VRF draw of `id` the market accepted, returning `taskId` and `attempt`.
    function recordDraw(uint256 id, uint256 taskId, uint256 attempt) external onlyNodeHandler {
        if (id > assignmentCount || taskId != _assignments[id].taskId || attempt != (ghostDraws[id] << 32 | id)) {
            ++ghostPayoutMismatches;
        }
        ++ghostDraws[id];
    }

    /// @notice The pause the registry accepted.
    function recordPause(bool paused) external onlyNodeHandler {
        ghostPaused = paused;
    }

    /// @notice The owner withdrew `amount` of stake (after an exit or a failure).
    function recordWithdrawal(uint256 nodeId, uint256 amount) external onlyNodeHandler {
        GhostNode storage n = _nodes[nodeId];
        if (amount != n.stake || n.reserved != 0) ++ghostPayoutMismatches;
        n.stake = 0;
        ghostRegistryStake -= amount;
        ghostRegistryOut += amount;
    }

    /// @notice A watcher settles `nodeId`'s failure at once, with the full list.
    function settleFailureNow(uint256 nodeId) external onlyNodeHandler {
        if (_nodes[nodeId].running.length != 0 && _settleNodeFailure(nodeId, 0)) ++calls["settleNodeFailure"];
    }

    // ---------------------------------------------------------------- views for the suite

    /// @notice The node of a Running assignment picked from `seed`, 0 if none runs.
    function runningNode(uint256 seed) external view returns (uint256) {
        uint256 id = _runningAssignment(seed);
        return id == 0 ? 0 : _assignments[id].nodeId;
    }

    function nodeIds() external view returns (uint256[] memory) {
        return _nodeIds;
    }

    function ghostTask(uint256 taskId) external view returns (GhostTask memory) {
        return _tasks[taskId];
    }

    function ghostAssignment(uint256 id) external view returns (GhostAssignment memory) {
        return _assignments[id];
    }

    function ghostNode(uint256 nodeId) external view returns (GhostNode memory) {
        return _nodes[nodeId];
    }

    // ---------------------------------------------------------------- internal

    /// @dev Calls `target` as `caller`; counts a panic. Returns what the call returned.
    function _call(address caller, address target, bytes memory data) internal returns (bool ok, bytes memory ret) {
        vm.prank(caller);
        (ok, ret) = target.call(data);
        if (!ok && ret.length >= 4 && bytes4(ret) == PANIC) ++ghostPanics;
    }

    /// @dev After a closing call (logs recorded): applies every AssignmentClosed the market
    ///      emitted to the model and checks that `owner` was credited exactly their sum; none
    ///      may come from a failed node unless it is a failure settlement.
    function _closures(bool ok, address owner, uint256 nodeId) internal returns (bool) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        if (!ok) return false;
        uint256 credited;
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].emitter != address(market) || logs[i].topics[0] != ASSIGNMENT_CLOSED) continue;
            (ITaskMarket.AssignmentStatus status, uint256 paidUntil, uint256 earned) =
                abi.decode(logs[i].data, (ITaskMarket.AssignmentStatus, uint256, uint256));
            uint256 id = uint256(logs[i].topics[1]);
            if (_assignments[id].owner != owner) ++ghostPayoutMismatches;
            if (_nodes[nodeId].failed != (status == ITaskMarket.AssignmentStatus.Failed)) ++ghostRuleBreaks;
            _closed(id, status, paidUntil, earned);
            credited += earned;
        }
        ghostEarningsOf[owner] += credited;
        if (market.earningsOf(owner) != ghostEarningsOf[owner]) ++ghostPayoutMismatches;
        return true;
    }

    /// @dev Settles `page` of node `nodeId` (ids not running on it are passed over) with
    ///      settleNodeFailure, or its one id with `settle` (`viaSettle`); each developer is
    ///      credited units x perUnit fixed at the failure. True if the market accepted it.
    function _settleFailurePage(uint256 nodeId, uint256[] memory page, bool viaSettle) internal returns (bool) {
        GhostNode storage n = _nodes[nodeId];
        address owner = n.owner;
        address[] memory developers = new address[](page.length);
        uint256[] memory shares = new uint256[](page.length);
        uint256 units;
        bool anyRunning;
        for (uint256 i = 0; i < page.length; ++i) {
            GhostAssignment storage a = _assignments[page[i]];
            if (a.status != ITaskMarket.AssignmentStatus.Running || a.nodeId != nodeId) continue;
            bool repeated;
            for (uint256 k = 0; k < i; ++k) {
                if (page[k] == page[i]) repeated = true;
            }
            if (repeated) continue;
            anyRunning = true;
            developers[i] = _tasks[a.taskId].developer;
            shares[i] = a.units * n.perUnit;
            units += a.units;
        }
        bool expected = viaSettle
            ? block.timestamp >= _deadline(_assignments[page[0]].taskId)
            : n.failed && anyRunning;
        vm.recordLogs();
        (bool ok,) = _call(
            address(this),
            address(market),
            viaSettle
                ? abi.encodeCall(ITaskMarket.settle, (page[0]))
                : abi.encodeCall(ITaskMarket.settleNodeFailure, (nodeId, page))
        );
        _judge(ok, expected);
        if (!_closures(ok, owner, nodeId)) return false;
        for (uint256 i = 0; i < page.length; ++i) {
            if (developers[i] != address(0)) ghostCompensationOf[developers[i]] += shares[i];
        }
        uint256 compensation = units * n.perUnit;
        n.compensationHeld -= compensation;
        ghostRegistryCompensation -= compensation;
        ghostRegistryOut += compensation;
        ghostTotalCompensation += compensation;
        ghostMarketIn += compensation;
        return true;
    }

    /// @dev Cancels `taskId` as its developer; true if the market accepted it.
    function _cancel(uint256 taskId) internal returns (bool ok) {
        GhostTask storage t = _tasks[taskId];
        (ok,) = _call(t.developer, address(market), abi.encodeCall(ITaskMarket.cancel, (taskId)));
        if (!ok) return false;
        t.expiresAt = block.timestamp;
        t.cancelled = true;
    }

    /// @dev `complete` of a running assignment by its node, checked against the rules; true if
    ///      the market accepted it.
    function _complete(uint256 id) internal returns (bool) {
        GhostAssignment storage a = _assignments[id];
        bool allowed = !_nodes[a.nodeId].failed && block.timestamp < _deadline(a.taskId);
        bytes memory cid = _cid(0x55, keccak256(abi.encode("final", id)));
        vm.recordLogs();
        (bool ok,) = _call(a.owner, address(market), abi.encodeCall(ITaskMarket.complete, (id, cid)));
        _judge(ok, allowed);
        return _closures(ok, a.owner, a.nodeId);
    }

    /// @dev Counts a call whose outcome `ok` is not the rules' `expected` one: accepted though
    ///      forbidden (ghostRuleBreaks) or refused though owed (ghostPayoutsBlocked).
    function _judge(bool ok, bool expected) internal {
        if (ok == expected) return;
        if (ok) ++ghostRuleBreaks;
        else ++ghostPayoutsBlocked;
    }

    /// @dev Until when the task takes checkpoints, by the model.
    function _deadline(uint256 taskId) internal view returns (uint256) {
        GhostTask storage t = _tasks[taskId];
        return t.cancelled ? t.expiresAt + WINDOW : t.expiresAt;
    }

    function _closed(uint256 id, ITaskMarket.AssignmentStatus status, uint256 paidUntil, uint256 earned) internal {
        GhostAssignment storage a = _assignments[id];
        GhostTask storage t = _tasks[a.taskId];
        if (a.status != ITaskMarket.AssignmentStatus.Running) ++ghostPayoutMismatches;
        if (status == ITaskMarket.AssignmentStatus.Completed) {
            a.lastCheckpointAt = block.timestamp; // the final checkpoint
            ++a.step;
        }
        a.status = status;
        a.modelPaidUntil = a.lastCheckpointAt < t.expiresAt ? a.lastCheckpointAt : t.expiresAt;
        a.paidUntil = paidUntil;
        a.earned = earned;
        t.paid += earned;
        ghostTotalEscrow -= earned;
        ghostTotalEarnings += earned;
        if (status != ITaskMarket.AssignmentStatus.Moved) {
            t.running -= a.units;
            if (status != ITaskMarket.AssignmentStatus.Completed) t.pending += a.units;
        }
        GhostNode storage n = _nodes[a.nodeId];
        n.reserved -= a.units;
        uint256 last = n.running.length - 1;
        for (uint256 i = 0; i <= last; ++i) {
            if (n.running[i] == id) {
                n.running[i] = n.running[last];
                n.running.pop();
                break;
            }
        }
    }

    function _opened(uint256 id, uint256 taskId, uint256 nodeId, uint256 units, uint256 price, uint256 resumesFrom)
        internal
    {
        if (id != ++assignmentCount) ++ghostPayoutMismatches;
        GhostAssignment storage a = _assignments[id];
        GhostNode storage n = _nodes[nodeId];
        (a.taskId, a.nodeId, a.owner, a.units, a.price) = (taskId, nodeId, n.owner, units, price);
        (a.startAt, a.lastCheckpointAt, a.resumesFrom) = (block.timestamp, block.timestamp, resumesFrom);
        a.status = ITaskMarket.AssignmentStatus.Running;
        n.reserved += units;
        n.running.push(id);
    }

    function _developer(uint256 seed) internal view returns (address) {
        return _actors[seed % DEVELOPERS];
    }

    function _contributor(uint256 seed) internal view returns (address) {
        return _actors[DEVELOPERS + seed % CONTRIBUTORS];
    }

    function _task(uint256 seed) internal view returns (uint256) {
        return taskCount == 0 ? 0 : seed % taskCount + 1;
    }

    function _node(uint256 seed) internal view returns (uint256) {
        return _nodeIds.length == 0 ? 0 : _nodeIds[seed % _nodeIds.length];
    }

    /// @dev A Running assignment, searching forward from the seed's pick; 0 if none.
    function _runningAssignment(uint256 seed) internal view returns (uint256) {
        return _assignmentIn(seed, ITaskMarket.AssignmentStatus.Running);
    }

    /// @dev An assignment with `status` by the model, searching forward; 0 if none.
    function _assignmentIn(uint256 seed, ITaskMarket.AssignmentStatus status) internal view returns (uint256) {
        uint256 count = assignmentCount;
        for (uint256 i = 0; i < count; ++i) {
            uint256 id = (seed % count + i) % count + 1;
            if (_assignments[id].status == status) return id;
        }
        return 0;
    }

    /// @dev An Active node of `class` other than `exclude` (by the registry: where to allocate
    ///      is the allocator's reading, not the model's claim) with `units` free at most `cap`,
    ///      searching forward; else the first Active one of the class; 0 if none.
    function _nodeFor(uint256 seed, bytes32 class, uint256 units, uint256 cap, uint256 exclude)
        internal
        view
        returns (uint256 fallback_)
    {
        uint256 count = _nodeIds.length;
        for (uint256 i = 0; i < count; ++i) {
            uint256 nodeId = _nodeIds[(seed % count + i) % count];
            GhostNode storage n = _nodes[nodeId];
            if (n.class != class || nodeId == exclude) continue;
            if (registry.getNode(nodeId).status != INodeRegistry.Status.Active) continue;
            if (n.capacity - n.reserved >= units && n.price <= cap) return nodeId;
            if (fallback_ == 0) fallback_ = nodeId;
        }
    }

    /// @dev A node the model knows failed and that still has running assignments, searching
    ///      forward; else any node.
    function _failedNode(uint256 seed) internal view returns (uint256) {
        uint256 count = _nodeIds.length;
        for (uint256 i = 0; i < count; ++i) {
            uint256 nodeId = _nodeIds[(seed % count + i) % count];
            if (_nodes[nodeId].failed && _nodes[nodeId].running.length != 0) return nodeId;
        }
        return _node(seed);
    }

    /// @dev A task still open with pending units (by the model), searching forward; else any.
    function _openTask(uint256 seed) internal view returns (uint256) {
        uint256 count = taskCount;
        for (uint256 i = 0; i < count; ++i) {
            uint256 taskId = (seed % count + i) % count + 1;
            GhostTask storage t = _tasks[taskId];
            if (t.pending != 0 && block.timestamp < t.expiresAt) return taskId;
        }
        return _task(seed);
    }

    /// @dev A CIDv1 with a sha2-256 multihash: version, codec, hash function, length, digest.
    function _cid(uint8 codec, bytes32 digest) internal pure returns (bytes memory) {
        return abi.encodePacked(uint8(0x01), codec, uint8(0x12), uint8(0x20), digest);
    }

    function _ceilDiv(uint256 a, uint256 b) internal pure returns (uint256) {
        return (a + b - 1) / b;
    }
}
