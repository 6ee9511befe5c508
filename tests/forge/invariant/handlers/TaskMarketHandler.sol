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
/// @notice Drives TaskMarket and its CheckpointRegistry: developers submit, top up, cancel and
///         claim refunds and compensation; contributors checkpoint, complete and withdraw; the
///         handler itself allocates (ALLOCATOR_ROLE: assign, move, reassign); anyone settles
///         failed nodes (with the full list of their running assignments, tracked here) and
///         assignments of ended tasks. TaskMarketNodeHandler drives the NodeRegistry side
///         (register, heartbeat, exit, failures, crashes) and reports to this one, which keeps
///         the whole model: every task, assignment and node, and the VER each contract holds.
/// @dev Needs VER MINTER_ROLE and the market's ALLOCATOR_ROLE. Every action is a low-level call:
///      a rejected call leaves the model untouched, and a rejection by an arithmetic panic (the
///      market's checked `escrow -= earned` running short, say) is counted in `ghostPanics`,
///      which the suite asserts stays 0, since the fuzzer itself ignores reverted calls.
contract TaskMarketHandler is HandlerBase {
    /// @dev The node handler makes the same actors (same names, so the same addresses).
    string internal constant ACTOR_PREFIX = "market-actor";
    uint256 internal constant DEVELOPERS = 3;
    uint256 internal constant CONTRIBUTORS = 3;
    uint256 internal constant HOUR = 3600;
    uint256 internal constant MAX_TASK_UNITS = 8;
    uint256 internal constant MIN_PRICE = 1e15;
    uint256 internal constant MAX_TASK_PRICE = 2e18;
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
    /// @notice settleNodeFailure calls with a list missing a running assignment that the market
    ///         accepted (must stay 0).
    uint256 public ghostIncompleteListsAccepted;

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

    /// @notice A developer submits a task and escrows its maximum cost.
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

    /// @notice The developer adds escrow, which extends the task's end.
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
        t.expiresAt += amount * HOUR / ((t.pending + t.running) * t.maxPrice);
        t.deposited += amount;
        ghostTotalEscrow += amount;
        ghostMarketIn += amount;
        ++calls["topUp"];
    }

    /// @notice The developer cancels: the task ends now.
    function cancel(uint256 taskSeed) external synced {
        uint256 taskId = _task(taskSeed);
        if (taskId == 0) return;
        GhostTask storage t = _tasks[taskId];
        (bool ok,) = _call(t.developer, address(market), abi.encodeCall(ITaskMarket.cancel, (taskId)));
        if (!ok) return;
        t.expiresAt = block.timestamp;
        ++calls["cancel"];
    }

    /// @notice The developer takes back the escrow left in an ended task.
    function claimRefund(uint256 taskSeed) external synced {
        uint256 taskId = _task(taskSeed);
        if (taskId == 0) return;
        GhostTask storage t = _tasks[taskId];
        uint256 before = ver.balanceOf(t.developer);
        _armReentry(abi.encodeCall(ITaskMarket.claimRefund, (taskId)));
        (bool ok,) = _call(t.developer, address(market), abi.encodeCall(ITaskMarket.claimRefund, (taskId)));
        _disarmReentry();
        if (!ok) return;
        uint256 amount = t.deposited - t.paid - t.refunded;
        if (ver.balanceOf(t.developer) - before != amount) ++ghostPayoutMismatches;
        t.refunded += amount;
        ghostTotalEscrow -= amount;
        ghostMarketOut += amount;
        ++calls["claimRefund"];
    }

    /// @notice A developer claims the compensation credited from failed nodes.
    function claimCompensation(uint256 devSeed) external synced {
        address developer = _developer(devSeed);
        uint256 before = ver.balanceOf(developer);
        _armReentry(abi.encodeCall(ITaskMarket.claimCompensation, ()));
        (bool ok,) = _call(developer, address(market), abi.encodeCall(ITaskMarket.claimCompensation, ()));
        _disarmReentry();
        if (!ok) return;
        uint256 amount = ghostCompensationOf[developer];
        if (ver.balanceOf(developer) - before != amount) ++ghostPayoutMismatches;
        ghostCompensationOf[developer] = 0;
        ghostTotalCompensation -= amount;
        ghostMarketOut += amount;
        ++calls["claimCompensation"];
    }

    // ---------------------------------------------------------------- contributors

    /// @notice The node commits a checkpoint of one of its running assignments, some time later.
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
        if (!ok) return;
        a.step = step;
        a.lastCheckpointAt = block.timestamp;
        ++calls["commitCheckpoint"];
    }

    /// @notice The node completes an assignment with its final checkpoint: paid up to now.
    function complete(uint256 assignmentSeed) external synced {
        uint256 id = _runningAssignment(assignmentSeed);
        if (id == 0) return;
        GhostAssignment storage a = _assignments[id];
        bytes memory cid = _cid(0x55, keccak256(abi.encode("final", id)));
        vm.recordLogs();
        (bool ok,) = _call(a.owner, address(market), abi.encodeCall(ITaskMarket.complete, (id, cid)));
        if (!_closures(ok, a.owner)) return;
        ++calls["complete"];
    }

    /// @notice A node owner withdraws its earnings.
    function withdraw(uint256 ownerSeed) external synced {
        address owner = _contributor(ownerSeed);
        uint256 before = ver.balanceOf(owner);
        _armReentry(abi.encodeCall(ITaskMarket.withdraw, ()));
        (bool ok,) = _call(owner, address(market), abi.encodeCall(ITaskMarket.withdraw, ()));
        _disarmReentry();
        if (!ok) return;
        uint256 amount = ghostEarningsOf[owner];
        if (ver.balanceOf(owner) - before != amount) ++ghostPayoutMismatches;
        ghostEarningsOf[owner] = 0;
        ghostTotalEarnings -= amount;
        ghostMarketOut += amount;
        ++calls["withdraw"];
    }

    // ---------------------------------------------------------------- allocator (this handler)

    /// @notice Assigns pending units of a task to a node of its class, at a price between the
    ///         node's and the task's cap.
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
        price = bound(price, n.price, t.maxPrice);
        (bool ok, bytes memory ret) =
            _call(address(this), address(market), abi.encodeCall(ITaskMarket.assign, (taskId, nodeId, units, price)));
        if (!ok) return;
        t.pending -= units;
        t.running += units;
        _opened(abi.decode(ret, (uint256)), taskId, nodeId, units, price, 0);
        ++calls["assign"];
    }

    /// @notice Moves a running assignment to another node of its class (at that node's price).
    function move(uint256 assignmentSeed, uint256 nodeSeed) external synced {
        uint256 id = _runningAssignment(assignmentSeed);
        if (id == 0) return;
        GhostAssignment storage a = _assignments[id];
        GhostTask storage t = _tasks[a.taskId];
        uint256 toNodeId = _nodeFor(nodeSeed, t.class, a.units, t.maxPrice, a.nodeId);
        if (toNodeId == 0) return;
        vm.recordLogs();
        (bool ok, bytes memory ret) =
            _call(address(this), address(market), abi.encodeCall(ITaskMarket.move, (id, toNodeId)));
        if (!_closures(ok, a.owner)) return;
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

    /// @notice Anyone settles a failed node with the full list of its running assignments (one
    ///         time in eight, a list missing one, which the market must reject).
    function settleNodeFailure(uint256 nodeSeed, uint256 dropSeed) external synced {
        uint256 nodeId = _failedNode(nodeSeed);
        if (nodeId == 0) return;
        if (_settleNodeFailure(nodeId, dropSeed)) ++calls["settleNodeFailure"];
    }

    /// @dev Settles `nodeId`'s failure (see settleNodeFailure); true if the market accepted it.
    function _settleNodeFailure(uint256 nodeId, uint256 dropSeed) internal returns (bool) {
        GhostNode storage n = _nodes[nodeId];
        uint256[] memory list = n.running;
        if (dropSeed % 8 == 0 && list.length > 0) {
            uint256[] memory partial_ = new uint256[](list.length - 1);
            uint256 skip = (dropSeed >> 3) % list.length;
            for (uint256 i = 0; i < partial_.length; ++i) {
                partial_[i] = list[i < skip ? i : i + 1];
            }
            (bool accepted,) = _call(
                address(this), address(market), abi.encodeCall(ITaskMarket.settleNodeFailure, (nodeId, partial_))
            );
            if (accepted) ++ghostIncompleteListsAccepted;
            return false;
        }
        // The model's split, over the list in the order given (as the market walks it).
        uint256 compensation = n.compensationHeld;
        address owner = n.owner;
        address[] memory developers = new address[](list.length);
        uint256[] memory shares = new uint256[](list.length);
        uint256 left = compensation;
        uint256 unitsLeft = n.reserved;
        for (uint256 i = 0; i < list.length; ++i) {
            GhostAssignment storage a = _assignments[list[i]];
            shares[i] = a.units == unitsLeft ? left : left * a.units / unitsLeft;
            left -= shares[i];
            unitsLeft -= a.units;
            developers[i] = _tasks[a.taskId].developer;
        }
        vm.recordLogs();
        (bool ok,) = _call(
            address(this), address(market), abi.encodeCall(ITaskMarket.settleNodeFailure, (nodeId, list))
        );
        if (!_closures(ok, owner)) return false;
        for (uint256 i = 0; i < list.length; ++i) {
            ghostCompensationOf[developers[i]] += shares[i];
        }
        if (compensation != 0) {
            n.compensationHeld = 0;
            ghostRegistryCompensation -= compensation;
            ghostRegistryOut += compensation;
            ghostTotalCompensation += compensation;
            ghostMarketIn += compensation;
        }
        return true;
    }

    /// @notice Anyone settles a running assignment of an ended task (paid to its last checkpoint).
    function settle(uint256 assignmentSeed) external synced {
        uint256 id = _runningAssignment(assignmentSeed);
        if (id == 0) return;
        address owner = _assignments[id].owner;
        vm.recordLogs();
        (bool ok,) = _call(address(this), address(market), abi.encodeCall(ITaskMarket.settle, (id)));
        if (!_closures(ok, owner)) return;
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
        _nodeIds.push(nodeId);
        GhostNode storage n = _nodes[nodeId];
        (n.owner, n.class, n.capacity, n.price, n.stake) = (owner, class, capacity, price, stake);
        ghostRegistryStake += stake;
        ghostRegistryIn += stake;
    }

    /// @notice A failure the registry accepted: `slashed` left the stake, `bounty` of it was paid
    ///         to the reporter (`paidOk`: the reporter received exactly that).
    function recordFailure(uint256 nodeId, uint256 slashed, uint256 bounty, bool paidOk) external onlyNodeHandler {
        GhostNode storage n = _nodes[nodeId];
        if (!paidOk) ++ghostPayoutMismatches;
        n.stake -= slashed;
        n.compensationHeld += slashed - bounty;
        n.failed = true;
        ghostRegistryStake -= slashed;
        ghostRegistryCompensation += slashed - bounty;
        ghostRegistryOut += bounty;
    }

    /// @notice A watcher settles `nodeId`'s failure at once, with the full list.
    function settleFailureNow(uint256 nodeId) external onlyNodeHandler {
        if (_settleNodeFailure(nodeId, 1)) ++calls["settleNodeFailure"];
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
    ///      emitted to the model and checks that `owner` was credited exactly their sum.
    function _closures(bool ok, address owner) internal returns (bool) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        if (!ok) return false;
        uint256 credited;
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].emitter != address(market) || logs[i].topics[0] != ASSIGNMENT_CLOSED) continue;
            (ITaskMarket.AssignmentStatus status, uint256 paidUntil, uint256 earned) =
                abi.decode(logs[i].data, (ITaskMarket.AssignmentStatus, uint256, uint256));
            uint256 id = uint256(logs[i].topics[1]);
            if (_assignments[id].owner != owner) ++ghostPayoutMismatches;
            _closed(id, status, paidUntil, earned);
            credited += earned;
        }
        ghostEarningsOf[owner] += credited;
        if (market.earningsOf(owner) != ghostEarningsOf[owner]) ++ghostPayoutMismatches;
        return true;
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
