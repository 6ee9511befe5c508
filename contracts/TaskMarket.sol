// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ITaskMarket} from "./interfaces/ITaskMarket.sol";
import {INodeRegistry} from "./interfaces/INodeRegistry.sol";
import {ICheckpointRegistry} from "./interfaces/ICheckpointRegistry.sol";
import {CheckpointRegistry} from "./CheckpointRegistry.sol";

/// @title TaskMarket
/// @notice Escrowed tasks, their assignments to nodes, and checkpoint-settled payment: a node is
///         paid for the span of an assignment up to its last checkpoint recorded on-chain, never
///         for work lost after it, and the developer never pays twice for the same span.
/// @dev Why the escrow never runs short, so that assign needs no escrow check: each unit of a
///      task is pending, running or completed, so at any instant its running assignments hold at
///      most U units (U = units submitted). An assignment is paid for a span inside
///      [its start, the task's end] at a price <= the cap M, and the assignments that follow one
///      another on the same units (move; failure then reassignment) have disjoint spans: each
///      starts when the previous one was closed, at or after its last checkpoint. So all payments
///      together are at most U * M * D / 3600, D = end - submission, which the escrow pulled at
///      submission, ceil(U * M * D / 3600), covers; rounding each payment down keeps the sum below.
///      A top-up of A extends the end by floor(A * 3600 / (k * M)) seconds, k = units not yet
///      completed (the only ones that can still run), so it adds at most A to what can be paid.
///      Cancelling moves the end to now (the completion window lets checkpoints in, never pay
///      past the end). `escrow -= earned` stays checked all the same, and the stateful test
///      drives it.
///      This market has no admin of its own: its allocator role and its pause are the
///      NodeRegistry's (ALLOCATOR_ROLE, paused()), so one admin, with one two-step transfer,
///      governs the whole network.
contract TaskMarket is ITaskMarket {
    using SafeERC20 for IERC20;

    /*//////////////////////////////////////////////////////////////
                                CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice The NodeRegistry role that opens, moves and reassigns assignments (the
    ///         committee's verifier).
    bytes32 public constant ALLOCATOR_ROLE = keccak256("ALLOCATOR_ROLE");

    /// @inheritdoc ITaskMarket
    /// @dev Long enough for a node's agent to see the cancellation, checkpoint and send
    ///      `complete` with room to spare for fees and confirmations.
    uint256 public constant COMPLETION_WINDOW = 1 hours;

    uint256 private constant _SECONDS_PER_HOUR = 3600;
    /// @dev Steps are stored in 48 bits; the final checkpoint takes the last step + 1.
    uint256 private constant _MAX_STEP = type(uint48).max - 1;

    /// @notice The VER token escrowed and paid here.
    IERC20 public immutable token;
    /// @inheritdoc ITaskMarket
    INodeRegistry public immutable nodeRegistry;
    /// @dev The CheckpointRegistry deployed by the constructor.
    address private immutable _checkpoints;

    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    // Tasks and assignments are kept as packed words, written whole (one SSTORE each) and decoded
    // into the memory structs below by the _load/_store helpers at the end of the file. Ids and
    // times are 32-bit (4.29e9 tasks and assignments; the uint32 clock runs to 2106), a task's
    // units 24-bit (16.7 million), amounts 96-bit (7.9e28 wei = 79 billion VER per task or per
    // unit-hour, above the VER supply cap).

    /// @dev A task: two slots, so that submitting one creates two (with the ledger's, three
    ///      writes). Its class is the NodeRegistry's 16-bit class id.
    ///      terms  (written once)  developer (bits 0-159) | maxPricePerUnitHour (160-255)
    ///      state  (all an assignment reads and writes of its task)
    ///             escrow (0-95) | expiresAt (96-127) | pendingUnits (128-151) |
    ///             runningUnits (152-175) | classId (176-191) | seed (192-254) | cancelled (255)
    struct TaskSlots {
        uint256 terms;
        uint256 state;
    }

    /// @dev An assignment: exactly two slots.
    ///      hot    (all a checkpoint commit reads and writes: one SLOAD and one SSTORE)
    ///             nodeOwner (0-159) | lastCheckpointAt (160-191) | step (192-239) |
    ///             status (240-247) | codec (248-255)
    ///      terms  (written once)
    ///             taskId (0-31) | nodeId (32-63) | resumesFrom (64-95) | units (96-127) |
    ///             pricePerUnitHour (128-223) | startAt (224-255)
    ///      The node owner is copied from NodeRegistry at assignment (owners never change there).
    struct AssignmentSlots {
        uint256 hot;
        uint256 terms;
    }

    struct TaskTerms {
        address developer;
        uint96 maxPricePerUnitHour;
    }

    struct TaskState {
        uint96 escrow;
        uint32 expiresAt;
        uint24 pendingUnits;
        uint24 runningUnits;
        uint16 classId;
        uint64 seed; // 63 bits
        bool cancelled;
    }

    struct AssignmentHot {
        address nodeOwner;
        uint32 lastCheckpointAt;
        uint48 step;
        AssignmentStatus status;
        uint8 codec;
    }

    struct AssignmentTerms {
        uint32 taskId;
        uint32 nodeId;
        uint32 resumesFrom;
        uint32 units;
        uint96 pricePerUnitHour;
        uint32 startAt;
    }

    /// @dev One slot touched by every settlement and payout (uint112 = 5.2e15 VER):
    ///      totalEscrow (112) | totalEarnings (112) | taskCount (32).
    struct Ledger {
        uint112 escrow;
        uint112 earnings;
        uint32 taskCount;
    }

    /// @dev totalCompensation (112) | assignmentCount (32).
    struct Counters {
        uint112 compensation;
        uint32 assignmentCount;
    }

    mapping(uint256 taskId => TaskSlots) private _tasks;
    mapping(uint256 assignmentId => AssignmentSlots) private _assignments;
    mapping(address account => uint256) private _earnings;
    mapping(address account => uint256) private _compensation;
    /// @dev VRF draws published per assignment (see drawReassignment); a slot only for
    ///      assignments a reassignment entry ever named.
    mapping(uint256 assignmentId => uint256 draws) private _draws;
    Ledger private _ledger;
    Counters private _counters;

    /*//////////////////////////////////////////////////////////////
                               CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param token_ the VER token
    /// @param nodeRegistry_ the NodeRegistry (grant this market its MARKET_ROLE, and the
    ///        allocator its ALLOCATOR_ROLE, there)
    constructor(IERC20 token_, INodeRegistry nodeRegistry_) {
        token = token_;
        nodeRegistry = nodeRegistry_;
        _checkpoints = address(new CheckpointRegistry(address(this)));
    }

    /*//////////////////////////////////////////////////////////////
                               DEVELOPERS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ITaskMarket
    function submitTask(
        bytes32 resourceClass,
        uint256 units,
        uint256 maxPricePerUnitHour,
        uint256 durationLimit,
        string calldata specURI
    ) public returns (uint256 taskId) {
        _requireNotPaused();
        TaskState memory st;
        (taskId, st) = _createTask(resourceClass, units, maxPricePerUnitHour, durationLimit);
        emit TaskSubmitted(
            taskId, msg.sender, resourceClass, units, maxPricePerUnitHour, st.expiresAt, st.escrow, st.seed, specURI
        );

        token.safeTransferFrom(msg.sender, address(this), st.escrow);
    }

    /// @inheritdoc ITaskMarket
    function submitTaskWithPermit(
        bytes32 resourceClass,
        uint256 units,
        uint256 maxPricePerUnitHour,
        uint256 durationLimit,
        string calldata specURI,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 taskId) {
        // Out-of-range inputs make submitTask revert with their error; the permit is then moot.
        uint256 escrow = units <= type(uint24).max && maxPricePerUnitHour <= type(uint96).max
            && durationLimit <= type(uint32).max ? _escrowFor(units, maxPricePerUnitHour, durationLimit) : 0;
        // A front-runner may use the permit first; the allowance is then in place and
        // transferFrom decides, so a failed permit is not fatal.
        try IERC20Permit(address(token)).permit(msg.sender, address(this), escrow, deadline, v, r, s) {}
            catch {}
        return submitTask(resourceClass, units, maxPricePerUnitHour, durationLimit, specURI);
    }

    /// @inheritdoc ITaskMarket
    function topUp(uint256 taskId, uint256 amount) external {
        _requireNotPaused();
        uint256 maxPrice = _requireDeveloper(taskId).maxPricePerUnitHour;
        TaskState memory st = _loadState(taskId);
        _requireOpen(taskId, st);
        uint256 escrow = st.escrow + amount;
        if (escrow > type(uint96).max) revert TaskMarketEscrowTooLarge(escrow, type(uint96).max);
        // Open: some unit is not completed, so perSecond > 0; amount < 2^96 here
        uint256 perSecond = (uint256(st.pendingUnits) + st.runningUnits) * maxPrice;
        uint256 extension = amount * _SECONDS_PER_HOUR / perSecond;
        if (extension == 0) {
            revert TaskMarketTopUpTooSmall(taskId, amount, Math.ceilDiv(perSecond, _SECONDS_PER_HOUR));
        }
        uint256 expiresAt = st.expiresAt + extension;
        if (expiresAt > type(uint32).max) revert TaskMarketInvalidDuration(expiresAt - block.timestamp);
        st.escrow = uint96(escrow);
        st.expiresAt = uint32(expiresAt);
        _storeState(taskId, st);
        Ledger memory ledger = _ledger;
        ledger.escrow += uint112(amount);
        _ledger = ledger;
        emit TaskToppedUp(taskId, amount, escrow, expiresAt);

        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc ITaskMarket
    function cancel(uint256 taskId) external {
        _requireDeveloper(taskId);
        TaskState memory st = _loadState(taskId);
        _requireOpen(taskId, st);
        st.expiresAt = uint32(block.timestamp);
        st.cancelled = true;
        _storeState(taskId, st);
        emit TaskCancelled(taskId, st.runningUnits, _deadline(st));
    }

    /// @inheritdoc ITaskMarket
    function claimRefund(uint256 taskId) external returns (uint256 amount) {
        _requireDeveloper(taskId);
        TaskState memory st = _loadState(taskId);
        if (_status(st) == TaskStatus.Open) revert TaskMarketTaskStillOpen(taskId, st.expiresAt);
        if (st.runningUnits != 0) revert TaskMarketUnitsStillRunning(taskId, st.runningUnits);
        amount = st.escrow;
        if (amount == 0) revert TaskMarketNothingToRefund(taskId);
        st.escrow = 0;
        _storeState(taskId, st);
        emit TaskRefunded(taskId, msg.sender, amount);
        _payOut(_FROM_ESCROW, amount);
    }

    /// @inheritdoc ITaskMarket
    function claimCompensation() external returns (uint256 amount) {
        amount = _compensation[msg.sender];
        if (amount == 0) revert TaskMarketNothingToClaim(msg.sender);
        _compensation[msg.sender] = 0;
        emit CompensationWithdrawn(msg.sender, amount);
        _payOut(_FROM_COMPENSATION, amount);
    }

    /*//////////////////////////////////////////////////////////////
                                  NODES
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ITaskMarket
    function complete(uint256 assignmentId, bytes calldata finalCid) external {
        AssignmentHot memory hot = _loadHot(assignmentId);
        _requireRunning(assignmentId, hot.status);
        if (hot.nodeOwner != msg.sender) revert TaskMarketNotAssignee(assignmentId, msg.sender, hot.nodeOwner);
        AssignmentTerms memory terms = _loadTerms(assignmentId);
        TaskState memory st = _loadState(terms.taskId);
        uint256 deadline = _deadline(st);
        if (block.timestamp >= deadline) revert TaskMarketCheckpointsClosed(terms.taskId, deadline);
        if (_nodeFailed(hot.nodeOwner, terms.nodeId)) revert TaskMarketNodeFailed(terms.nodeId);
        hot.step += 1; // checked: commits keep step <= _MAX_STEP
        // The codec is byte 1 of a CIDv1; recordFinal below parses the CID and reverts the whole
        // call with the CID error if it is malformed.
        hot.codec = finalCid.length > 1 ? uint8(finalCid[1]) : 0;
        hot.lastCheckpointAt = uint32(block.timestamp);
        hot.status = AssignmentStatus.Completed;
        _settle(assignmentId, hot, terms, st, block.timestamp);
        // slither-disable-next-line incorrect-equality (unit counts, not a balance or a time)
        if (st.runningUnits == 0 && st.pendingUnits == 0) emit TaskCompleted(terms.taskId);

        ICheckpointRegistry(_checkpoints).recordFinal(assignmentId, hot.step, finalCid);
        nodeRegistry.release(terms.nodeId, hot.nodeOwner, terms.units);
    }

    /// @inheritdoc ITaskMarket
    function withdraw() external returns (uint256 amount) {
        amount = _earnings[msg.sender];
        if (amount == 0) revert TaskMarketNothingToWithdraw(msg.sender);
        _earnings[msg.sender] = 0;
        emit EarningsWithdrawn(msg.sender, amount);
        _payOut(_FROM_EARNINGS, amount);
    }

    /*//////////////////////////////////////////////////////////////
                                 ANYONE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ITaskMarket
    function settle(uint256 assignmentId) external {
        AssignmentHot memory hot = _loadHot(assignmentId);
        _requireRunning(assignmentId, hot.status);
        AssignmentTerms memory terms = _loadTerms(assignmentId);
        TaskState memory st = _loadState(terms.taskId);
        if (block.timestamp < st.expiresAt) revert TaskMarketTaskStillOpen(terms.taskId, st.expiresAt);
        uint256 deadline = _deadline(st);
        if (block.timestamp < deadline) revert TaskMarketCompletionWindowOpen(terms.taskId, deadline);
        if (_nodeFailed(hot.nodeOwner, terms.nodeId)) {
            uint256 perUnit = nodeRegistry.compensationPerUnit(terms.nodeId);
            uint256 share = _failOne(assignmentId, hot, terms, perUnit);
            _finishFailurePage(terms.nodeId, 1, terms.units, share);
            return;
        }
        hot.status = AssignmentStatus.Ended;
        _settle(assignmentId, hot, terms, st, hot.lastCheckpointAt);

        nodeRegistry.release(terms.nodeId, hot.nodeOwner, terms.units);
    }

    /// @inheritdoc ITaskMarket
    function settleNodeFailure(uint256 nodeId, uint256[] calldata assignmentIds) external {
        // slither-disable-next-line unused-return (only the status is needed here)
        (,, INodeRegistry.Status status,,) = nodeRegistry.nodeOffer(nodeId);
        if (status != INodeRegistry.Status.Failed) {
            if (status == INodeRegistry.Status.None) revert TaskMarketUnknownNode(nodeId);
            revert TaskMarketNodeNotFailed(nodeId, status);
        }
        // Each developer's share is fixed by the failure (compensation per reserved unit), so the
        // order of settlements and the split into pages change nothing.
        uint256 perUnit = nodeRegistry.compensationPerUnit(nodeId);
        uint256 count = 0;
        uint256 units = 0;
        uint256 compensation = 0;
        for (uint256 i; i < assignmentIds.length; ++i) {
            uint256 id = assignmentIds[i];
            AssignmentHot memory hot = _loadHot(id);
            // Settled already (or never running here): passed over, so that pages may overlap.
            if (hot.status != AssignmentStatus.Running) continue;
            AssignmentTerms memory terms = _loadTerms(id);
            if (terms.nodeId != nodeId) revert TaskMarketAssignmentNotOnNode(id, nodeId, terms.nodeId);
            compensation += _failOne(id, hot, terms, perUnit);
            units += terms.units;
            ++count;
        }
        if (count == 0) revert TaskMarketNoRunningAssignments(nodeId);
        _finishFailurePage(nodeId, count, units, compensation);
    }

    /*//////////////////////////////////////////////////////////////
                             ALLOCATOR ROLE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ITaskMarket
    function assign(uint256 taskId, uint256 nodeId, uint256 units, uint256 pricePerUnitHour)
        external
        returns (uint256 assignmentId)
    {
        _requireAllocator();
        _requireNotPaused();
        TaskState memory st = _loadState(taskId);
        _requireOpen(taskId, st);
        if (units == 0) revert TaskMarketInvalidUnits(units);
        if (units > st.pendingUnits) revert TaskMarketInsufficientPendingUnits(taskId, units, st.pendingUnits);
        uint256 cap = _loadTaskTerms(taskId).maxPricePerUnitHour;
        if (pricePerUnitHour > cap) revert TaskMarketPriceAboveCap(taskId, pricePerUnitHour, cap);
        (address owner, uint256 nodePrice) = _checkNode(nodeId, st.classId, units);
        if (pricePerUnitHour != nodePrice) revert TaskMarketPriceNotNodePrice(nodeId, pricePerUnitHour, nodePrice);

        // unchecked: units <= pending, and pending + running never exceeds the task's units < 2^24
        unchecked {
            st.pendingUnits -= uint24(units);
            st.runningUnits += uint24(units);
        }
        _storeState(taskId, st);
        assignmentId = _open(taskId, nodeId, owner, units, pricePerUnitHour, 0);
    }

    /// @inheritdoc ITaskMarket
    function move(uint256 assignmentId, uint256 toNodeId) external returns (uint256 newAssignmentId) {
        _requireAllocator();
        AssignmentHot memory hot = _loadHot(assignmentId);
        _requireRunning(assignmentId, hot.status);
        AssignmentTerms memory terms = _loadTerms(assignmentId);
        // slither-disable-next-line incorrect-equality (node ids)
        if (toNodeId == terms.nodeId) revert TaskMarketSameNode(assignmentId, toNodeId);
        TaskState memory st = _loadState(terms.taskId);
        _requireOpen(terms.taskId, st);
        if (_nodeFailed(hot.nodeOwner, terms.nodeId)) revert TaskMarketNodeFailed(terms.nodeId);
        (address owner, uint256 price) = _checkNodeAtItsPrice(terms, st.classId, toNodeId);

        // The old assignment ends at its last checkpoint (<= now < the task's end); its units
        // stay running, on the new node.
        hot.status = AssignmentStatus.Moved;
        _settle(assignmentId, hot, terms, st, hot.lastCheckpointAt);
        newAssignmentId = _open(terms.taskId, toNodeId, owner, terms.units, price, assignmentId);
        nodeRegistry.release(terms.nodeId, hot.nodeOwner, terms.units);
    }

    /// @inheritdoc ITaskMarket
    function reassign(uint256 failedAssignmentId, uint256 newNodeId) external returns (uint256 newAssignmentId) {
        _requireAllocator();
        AssignmentHot memory hot = _loadHot(failedAssignmentId);
        if (hot.status != AssignmentStatus.Failed) {
            revert TaskMarketAssignmentNotFailed(failedAssignmentId, hot.status);
        }
        AssignmentTerms memory terms = _loadTerms(failedAssignmentId);
        TaskState memory st = _loadState(terms.taskId);
        _requireOpen(terms.taskId, st);
        if (terms.units > st.pendingUnits) {
            revert TaskMarketInsufficientPendingUnits(terms.taskId, terms.units, st.pendingUnits);
        }
        (address owner, uint256 price) = _checkNodeAtItsPrice(terms, st.classId, newNodeId);

        // unchecked: as in assign
        unchecked {
            st.pendingUnits -= uint24(terms.units);
            st.runningUnits += uint24(terms.units);
        }
        _storeState(terms.taskId, st);
        hot.status = AssignmentStatus.Reassigned;
        _storeHot(failedAssignmentId, hot);
        newAssignmentId = _open(terms.taskId, newNodeId, owner, terms.units, price, failedAssignmentId);
        emit AssignmentReassigned(failedAssignmentId, newAssignmentId);
    }

    /// @inheritdoc ITaskMarket
    function drawReassignment(uint256 assignmentId)
        external
        returns (uint256 taskId, uint256 seed, uint256 attempt, AssignmentStatus status)
    {
        _requireAllocator();
        status = _loadHot(assignmentId).status;
        // slither-disable-next-line incorrect-equality (a status)
        if (status == AssignmentStatus.None) revert TaskMarketUnknownAssignment(assignmentId);
        taskId = _loadTerms(assignmentId).taskId;
        seed = _loadState(taskId).seed;
        uint256 draw = _draws[assignmentId];
        _draws[assignmentId] = draw + 1;
        emit ReassignmentDrawn(assignmentId, draw);
        // ids < 2^32 (counted in 32 bits); draws < 2^32 (each one is a signed committee report
        // entry), so attempt < 2^64
        attempt = (draw << 32) | assignmentId;
    }

    /*//////////////////////////////////////////////////////////////
                           CHECKPOINT REGISTRY
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ITaskMarket
    function recordCheckpoint(uint256 assignmentId, address caller, uint256 step, uint256 codec) external {
        if (msg.sender != _checkpoints) revert TaskMarketNotCheckpointRegistry(msg.sender);
        AssignmentHot memory hot = _loadHot(assignmentId);
        if (hot.status != AssignmentStatus.Running) {
            revert ICheckpointRegistry.CheckpointRegistryAssignmentNotRunning(assignmentId, hot.status);
        }
        if (hot.nodeOwner != caller) {
            revert ICheckpointRegistry.CheckpointRegistryNotAssignee(assignmentId, caller, hot.nodeOwner);
        }
        if (step <= hot.step) {
            revert ICheckpointRegistry.CheckpointRegistryStepNotIncreasing(assignmentId, step, hot.step);
        }
        if (step > _MAX_STEP) revert ICheckpointRegistry.CheckpointRegistryStepTooLarge(step, _MAX_STEP);
        AssignmentTerms memory terms = _loadTerms(assignmentId);
        uint256 deadline = _deadline(_loadState(terms.taskId));
        if (block.timestamp >= deadline) {
            revert ICheckpointRegistry.CheckpointRegistryCheckpointsClosed(assignmentId, deadline);
        }
        if (_nodeFailed(hot.nodeOwner, terms.nodeId)) {
            revert ICheckpointRegistry.CheckpointRegistryNodeFailed(assignmentId, terms.nodeId);
        }
        hot.lastCheckpointAt = uint32(block.timestamp);
        hot.step = uint48(step);
        hot.codec = uint8(codec); // 0x55 or 0x70: parsed by the registry
        _storeHot(assignmentId, hot);
    }

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ITaskMarket
    function getTask(uint256 taskId) external view returns (TaskView memory view_) {
        TaskState memory st = _loadState(taskId);
        if (st.expiresAt == 0) revert TaskMarketUnknownTask(taskId);
        TaskTerms memory terms = _loadTaskTerms(taskId);
        view_ = TaskView({
            developer: terms.developer,
            resourceClass: nodeRegistry.classAt(st.classId),
            maxPricePerUnitHour: terms.maxPricePerUnitHour,
            escrow: st.escrow,
            expiresAt: st.expiresAt,
            pendingUnits: st.pendingUnits,
            runningUnits: st.runningUnits,
            seed: st.seed,
            status: _status(st)
        });
    }

    /// @inheritdoc ITaskMarket
    function checkpointDeadline(uint256 taskId) external view returns (uint256) {
        return _deadline(_loadState(taskId));
    }

    /// @inheritdoc ITaskMarket
    function getAssignment(uint256 assignmentId) external view returns (AssignmentView memory view_) {
        AssignmentHot memory hot = _loadHot(assignmentId);
        // slither-disable-next-line incorrect-equality (a status)
        if (hot.status == AssignmentStatus.None) revert TaskMarketUnknownAssignment(assignmentId);
        AssignmentTerms memory terms = _loadTerms(assignmentId);
        view_ = AssignmentView({
            taskId: terms.taskId,
            nodeId: terms.nodeId,
            nodeOwner: hot.nodeOwner,
            units: terms.units,
            pricePerUnitHour: terms.pricePerUnitHour,
            startAt: terms.startAt,
            lastCheckpointAt: hot.lastCheckpointAt,
            checkpointStep: hot.step,
            checkpointCodec: hot.codec,
            resumesFrom: terms.resumesFrom,
            status: hot.status
        });
    }

    /// @inheritdoc ITaskMarket
    function drawsOf(uint256 assignmentId) external view returns (uint256) {
        return _draws[assignmentId];
    }

    /// @inheritdoc ITaskMarket
    /// @dev Zeros for an unknown assignment (never reverts: the registry's views walk with it).
    function checkpointOf(uint256 assignmentId)
        external
        view
        returns (uint256 step, uint256 codec, uint256 lastCheckpointAt, uint256 resumesFrom)
    {
        AssignmentHot memory hot = _loadHot(assignmentId);
        return (hot.step, hot.codec, hot.lastCheckpointAt, _loadTerms(assignmentId).resumesFrom);
    }

    /// @inheritdoc ITaskMarket
    function totals()
        external
        view
        returns (uint256 totalEscrow, uint256 totalEarnings, uint256 totalCompensation)
    {
        Ledger memory ledger = _ledger;
        return (ledger.escrow, ledger.earnings, _counters.compensation);
    }

    /// @inheritdoc ITaskMarket
    function earningsOf(address account) external view returns (uint256) {
        return _earnings[account];
    }

    /// @inheritdoc ITaskMarket
    function compensationOf(address account) external view returns (uint256) {
        return _compensation[account];
    }

    /// @inheritdoc ITaskMarket
    function taskCount() external view returns (uint256) {
        return _ledger.taskCount;
    }

    /// @inheritdoc ITaskMarket
    function assignmentCount() external view returns (uint256) {
        return _counters.assignmentCount;
    }

    /// @inheritdoc ITaskMarket
    function checkpointRegistry() external view returns (address) {
        return _checkpoints;
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    uint256 private constant _FROM_ESCROW = 0;
    uint256 private constant _FROM_EARNINGS = 1;
    uint256 private constant _FROM_COMPENSATION = 2;

    /// @dev ceil(units * maxPrice * duration / 3600); the product < 2^32 * 2^96 * 2^32.
    function _escrowFor(uint256 units, uint256 maxPricePerUnitHour, uint256 durationLimit)
        private
        pure
        returns (uint256)
    {
        return Math.ceilDiv(units * maxPricePerUnitHour * durationLimit, _SECONDS_PER_HOUR);
    }

    /// @dev Validates a submission and stores the task; returns its id and state.
    function _createTask(bytes32 resourceClass, uint256 units, uint256 maxPricePerUnitHour, uint256 durationLimit)
        private
        returns (uint256 taskId, TaskState memory st)
    {
        // classIdOf(0) is 0: the zero class is never configured
        uint256 classId = nodeRegistry.classIdOf(resourceClass);
        if (classId == 0) revert TaskMarketInvalidClass(resourceClass);
        if (units == 0 || units > type(uint24).max) revert TaskMarketInvalidUnits(units);
        if (maxPricePerUnitHour == 0 || maxPricePerUnitHour > type(uint96).max) {
            revert TaskMarketInvalidPrice(maxPricePerUnitHour);
        }
        if (durationLimit == 0 || durationLimit > type(uint32).max - block.timestamp) {
            revert TaskMarketInvalidDuration(durationLimit);
        }
        uint256 escrow = _escrowFor(units, maxPricePerUnitHour, durationLimit);
        if (escrow > type(uint96).max) revert TaskMarketEscrowTooLarge(escrow, type(uint96).max);

        Ledger memory ledger = _ledger;
        taskId = ++ledger.taskCount;
        ledger.escrow += uint112(escrow);
        _ledger = ledger;

        st = TaskState({
            escrow: uint96(escrow),
            expiresAt: uint32(block.timestamp + durationLimit),
            pendingUnits: uint24(units),
            runningUnits: 0,
            classId: uint16(classId), // the registry counts classes in 16 bits
            seed: uint64(uint256(keccak256(abi.encode(block.prevrandao, taskId)))) >> 1,
            cancelled: false
        });
        _tasks[taskId].terms = uint256(uint160(msg.sender)) | (maxPricePerUnitHour << 160);
        _storeState(taskId, st);
    }

    function _status(TaskState memory st) private view returns (TaskStatus) {
        if (st.expiresAt == 0) return TaskStatus.None;
        if (st.pendingUnits == 0 && st.runningUnits == 0) return TaskStatus.Completed;
        if (block.timestamp >= st.expiresAt) return TaskStatus.Ended;
        return TaskStatus.Open;
    }

    /// @dev Until when the task takes checkpoints: its end, plus the completion window after a
    ///      cancellation (expiresAt < 2^32, so no overflow).
    function _deadline(TaskState memory st) private pure returns (uint256) {
        return st.cancelled ? uint256(st.expiresAt) + COMPLETION_WINDOW : st.expiresAt;
    }

    function _requireOpen(uint256 taskId, TaskState memory st) private view {
        TaskStatus status = _status(st);
        if (status != TaskStatus.Open) {
            if (status == TaskStatus.None) revert TaskMarketUnknownTask(taskId);
            revert TaskMarketTaskNotOpen(taskId, status);
        }
    }

    function _requireDeveloper(uint256 taskId) private view returns (TaskTerms memory terms) {
        terms = _loadTaskTerms(taskId);
        if (terms.developer != msg.sender) {
            if (terms.developer == address(0)) revert TaskMarketUnknownTask(taskId);
            revert TaskMarketNotDeveloper(taskId, msg.sender, terms.developer);
        }
    }

    function _requireRunning(uint256 assignmentId, AssignmentStatus status) private pure {
        if (status != AssignmentStatus.Running) revert TaskMarketAssignmentNotRunning(assignmentId, status);
    }

    function _requireAllocator() private view {
        if (!IAccessControl(address(nodeRegistry)).hasRole(ALLOCATOR_ROLE, msg.sender)) {
            revert TaskMarketUnauthorized(msg.sender, ALLOCATOR_ROLE);
        }
    }

    function _requireNotPaused() private view {
        if (nodeRegistry.paused()) revert TaskMarketPaused();
    }

    /// @dev Whether node `nodeId`, owned by `owner` (the assignment's node owner), has failed.
    function _nodeFailed(address owner, uint256 nodeId) private view returns (bool) {
        // slither-disable-next-line incorrect-equality (a status)
        return nodeRegistry.statusOf(owner, nodeId) == INodeRegistry.Status.Failed;
    }

    /// @dev Closes a Running assignment; `hot` carries its new status and `st` is its task's
    ///      state, which is updated and stored. It earns floor(units * price * (paidUntil -
    ///      startAt) / 3600), paidUntil = min(until, task end) (until >= startAt: an assignment
    ///      starts while its task is Open and lastCheckpointAt starts at startAt), credited to its
    ///      node's owner. Completed units are done; those of a failed or ended assignment wait
    ///      again; moved ones stay running.
    function _settle(
        uint256 id,
        AssignmentHot memory hot,
        AssignmentTerms memory terms,
        TaskState memory st,
        uint256 until
    ) private {
        uint256 paidUntil = Math.min(until, st.expiresAt);
        // < 2^32 * 2^96 * 2^32: no overflow
        uint256 amount =
            uint256(terms.units) * terms.pricePerUnitHour * (paidUntil - terms.startAt) / _SECONDS_PER_HOUR;
        _storeHot(id, hot);
        st.escrow -= uint96(amount);
        if (hot.status != AssignmentStatus.Moved) {
            st.runningUnits -= uint24(terms.units);
            if (hot.status != AssignmentStatus.Completed) st.pendingUnits += uint24(terms.units);
        }
        _storeState(terms.taskId, st);
        if (amount != 0) {
            _earnings[hot.nodeOwner] += amount;
            Ledger memory ledger = _ledger;
            ledger.escrow -= uint112(amount);
            ledger.earnings += uint112(amount);
            _ledger = ledger;
        }
        emit AssignmentClosed(id, terms.taskId, terms.nodeId, hot.status, paidUntil, amount);
    }

    /// @dev Ends a Running assignment of a failed node at its last checkpoint and credits its
    ///      developer units x perUnit; returns that share.
    function _failOne(uint256 id, AssignmentHot memory hot, AssignmentTerms memory terms, uint256 perUnit)
        private
        returns (uint256 share)
    {
        // Work after the last checkpoint is lost: the units go back to the task, pending.
        hot.status = AssignmentStatus.Failed;
        _settle(id, hot, terms, _loadState(terms.taskId), hot.lastCheckpointAt);
        share = terms.units * perUnit;
        if (share != 0) {
            address developer = _loadTaskTerms(terms.taskId).developer;
            _compensation[developer] += share;
            emit CompensationCredited(id, developer, share);
        }
    }

    /// @dev After a page of failure settlements: books the compensation credited, then has the
    ///      registry release the units and transfer exactly that compensation here.
    function _finishFailurePage(uint256 nodeId, uint256 count, uint256 units, uint256 compensation) private {
        if (compensation != 0) {
            Counters memory counters = _counters;
            counters.compensation += uint112(compensation);
            _counters = counters;
        }
        emit NodeFailureSettled(nodeId, count, units, compensation);
        // The registry pays units x compensationPerUnit, the sum credited above.
        // slither-disable-next-line unused-return
        nodeRegistry.claimCompensation(nodeId, units, address(this));
    }

    /// @dev Pays `amount` to the caller from one of the three totals; the caller has zeroed the
    ///      account it is paid from.
    function _payOut(uint256 from, uint256 amount) private {
        if (from == _FROM_COMPENSATION) {
            Counters memory counters = _counters;
            counters.compensation -= uint112(amount);
            _counters = counters;
        } else {
            Ledger memory ledger = _ledger;
            if (from == _FROM_ESCROW) ledger.escrow -= uint112(amount);
            else ledger.earnings -= uint112(amount);
            _ledger = ledger;
        }
        token.safeTransfer(msg.sender, amount);
    }

    /// @dev The checks of a node that is to take `units` of a task of class `classId`; returns
    ///      its owner and asking price.
    function _checkNode(uint256 nodeId, uint256 classId, uint256 units)
        private
        view
        returns (address owner, uint256 nodePrice)
    {
        if (nodeId == 0 || nodeId > type(uint32).max) revert TaskMarketUnknownNode(nodeId);
        (address nodeOwner, uint256 nodeClassId, INodeRegistry.Status status, uint256 free, uint256 price) =
            nodeRegistry.nodeOffer(nodeId);
        if (status != INodeRegistry.Status.Active) {
            if (status == INodeRegistry.Status.None) revert TaskMarketUnknownNode(nodeId);
            revert TaskMarketNodeNotActive(nodeId, status);
        }
        if (nodeClassId != classId) {
            revert TaskMarketClassMismatch(nodeId, nodeRegistry.classAt(nodeClassId), nodeRegistry.classAt(classId));
        }
        if (units > free) revert TaskMarketInsufficientCapacity(nodeId, units, free);
        return (nodeOwner, price);
    }

    /// @dev `_checkNode` for a move or reassignment, which runs at the node's asking price.
    function _checkNodeAtItsPrice(AssignmentTerms memory terms, uint256 classId, uint256 nodeId)
        private
        view
        returns (address owner, uint256 price)
    {
        (owner, price) = _checkNode(nodeId, classId, terms.units);
        uint256 cap = _loadTaskTerms(terms.taskId).maxPricePerUnitHour;
        if (price > cap) revert TaskMarketPriceAboveCap(terms.taskId, price, cap);
    }

    /// @dev Creates an assignment; the caller has checked everything and updated the task. Casts:
    ///      ids < 2^32 (checked, or counted in 32 bits), units <= task units < 2^32, price <= cap
    ///      < 2^96.
    function _open(
        uint256 taskId,
        uint256 nodeId,
        address owner,
        uint256 units,
        uint256 price,
        uint256 resumesFrom
    ) private returns (uint256 id) {
        Counters memory counters = _counters;
        id = ++counters.assignmentCount;
        _counters = counters;
        AssignmentSlots storage a = _assignments[id];
        a.hot = uint256(uint160(owner)) | (block.timestamp << 160) | (uint256(AssignmentStatus.Running) << 240);
        a.terms = taskId | (nodeId << 32) | (resumesFrom << 64) | (units << 96) | (price << 128)
            | (block.timestamp << 224);
        emit AssignmentCreated(id, taskId, nodeId, units, price, resumesFrom);

        nodeRegistry.reserve(nodeId, units);
    }

    // ------------------------------------------------------------------ packed words

    function _loadTaskTerms(uint256 taskId) private view returns (TaskTerms memory t) {
        uint256 w = _tasks[taskId].terms;
        t.developer = address(uint160(w));
        t.maxPricePerUnitHour = uint96(w >> 160);
    }

    function _loadState(uint256 taskId) private view returns (TaskState memory st) {
        uint256 w = _tasks[taskId].state;
        st.escrow = uint96(w);
        st.expiresAt = uint32(w >> 96);
        st.pendingUnits = uint24(w >> 128);
        st.runningUnits = uint24(w >> 152);
        st.classId = uint16(w >> 176);
        st.seed = uint64(w >> 192) & (type(uint64).max >> 1); // bit 255 is the cancelled flag
        st.cancelled = w >> 255 != 0;
    }

    function _storeState(uint256 taskId, TaskState memory st) private {
        _tasks[taskId].state = uint256(st.escrow) | (uint256(st.expiresAt) << 96)
            | (uint256(st.pendingUnits) << 128) | (uint256(st.runningUnits) << 152) | (uint256(st.classId) << 176)
            | (uint256(st.seed) << 192) | (uint256(st.cancelled ? 1 : 0) << 255);
    }

    function _loadHot(uint256 assignmentId) private view returns (AssignmentHot memory hot) {
        uint256 w = _assignments[assignmentId].hot;
        hot.nodeOwner = address(uint160(w));
        hot.lastCheckpointAt = uint32(w >> 160);
        hot.step = uint48(w >> 192);
        hot.status = AssignmentStatus(uint8(w >> 240));
        hot.codec = uint8(w >> 248);
    }

    function _storeHot(uint256 assignmentId, AssignmentHot memory hot) private {
        _assignments[assignmentId].hot = uint256(uint160(hot.nodeOwner)) | (uint256(hot.lastCheckpointAt) << 160)
            | (uint256(hot.step) << 192) | (uint256(hot.status) << 240) | (uint256(hot.codec) << 248);
    }

    function _loadTerms(uint256 assignmentId) private view returns (AssignmentTerms memory terms) {
        uint256 w = _assignments[assignmentId].terms;
        terms.taskId = uint32(w);
        terms.nodeId = uint32(w >> 32);
        terms.resumesFrom = uint32(w >> 64);
        terms.units = uint32(w >> 96);
        terms.pricePerUnitHour = uint96(w >> 128);
        terms.startAt = uint32(w >> 224);
    }
}
