// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {INodeRegistry} from "./INodeRegistry.sol";

/// @title ITaskMarket
/// @notice Developers escrow VER for tasks; an allocator (the oracle committee's verifier) splits
///         each task's units over nodes as assignments; nodes checkpoint their work and are paid
///         from the escrow exactly for the span up to their last checkpoint; unused escrow returns
///         to the developer; a failed node's slashed stake compensates the developers whose work
///         ran on it, per reserved unit.
/// @dev Units: whole units of a resource class; prices in VER wei per unit-hour; time in seconds.
///      An assignment has earned floor(units * price * (paidUntil - startAt) / 3600), where
///      paidUntil = min(lastCheckpointAt, task end). Escrow = ceil(units * maxPrice *
///      durationLimit / 3600) covers every assignment the task can ever pay (see TaskMarket.sol).
///      Invariant: VER.balanceOf(market) == totalEscrow + totalEarnings + totalCompensation.
///      Checkpoints are accepted only while the task is live for checkpoints: before its end, or,
///      after a cancellation, during the completion window (COMPLETION_WINDOW seconds after the
///      cancellation, see `cancel`); so nothing is ever paid for a span that no checkpoint
///      committed while the task was live covers.
///      The allocator role and the pause are the NodeRegistry's (ALLOCATOR_ROLE, `paused()`).
///      Every storage change is visible in an event, so the market can be rebuilt from logs:
///        getTask.developer/resourceClass/maxPrice/seed  TaskSubmitted
///        getTask.escrow        TaskSubmitted.escrow + TaskToppedUp.amount - AssignmentClosed.earned
///                              of its assignments - TaskRefunded.amount
///        getTask.expiresAt     TaskSubmitted, TaskToppedUp (new expiresAt), TaskCancelled (the
///                              block time of the cancellation)
///        getTask.pending/runningUnits  TaskSubmitted (units pending), AssignmentCreated (pending
///                              -> running, except when it resumes a Moved one: running stays),
///                              AssignmentClosed (Completed: running -1; Failed, Ended: running
///                              -> pending; Moved: unchanged)
///        checkpointDeadline    expiresAt; + COMPLETION_WINDOW after TaskCancelled
///        getAssignment         AssignmentCreated (terms; start = lastCheckpointAt = its block
///                              time), CheckpointRegistry.CheckpointCommitted (step, codec = byte
///                              1 of the CID, lastCheckpointAt = its block time; isFinal ones come
///                              with AssignmentClosed), AssignmentClosed (status), then
///                              AssignmentReassigned (Failed -> Reassigned)
///        drawsOf               count of ReassignmentDrawn of the assignment
///        earningsOf            AssignmentClosed.earned to the assignment's node owner, minus
///                              EarningsWithdrawn
///        compensationOf        CompensationCredited minus CompensationWithdrawn
///        totals                the sums of the above (compensation: NodeFailureSettled.compensation
///                              minus CompensationWithdrawn)
interface ITaskMarket {
    // ------------------------------------------------------------------ types

    /// @notice Life cycle of a task.
    /// @dev Open: takes assignments until its end (expiresAt; cancel moves it to now).
    ///      Completed: every unit was completed. Ended: cancelled or expired before that.
    enum TaskStatus {
        None,
        Open,
        Completed,
        Ended
    }

    /// @notice Life cycle of an assignment; every state but Running is final.
    /// @dev Running -> Completed (node called complete), Moved (allocator moved it), Failed (its
    ///      node failed; its units went back to the task), Ended (its task was cancelled or
    ///      expired). Failed -> Reassigned once a new assignment resumes from it.
    enum AssignmentStatus {
        None,
        Running,
        Completed,
        Moved,
        Failed,
        Reassigned,
        Ended
    }

    /// @notice A task as returned by `getTask`.
    struct TaskView {
        address developer;
        bytes32 resourceClass;
        uint256 maxPricePerUnitHour;
        uint256 escrow; // VER wei still held for the task (paid out or refunded later)
        uint256 expiresAt; // end of the task: submission + durationLimit (+ top-ups); cancel = now
        uint256 pendingUnits; // units waiting for an assignment
        uint256 runningUnits; // units in running assignments
        uint256 seed; // fixed at submission (63 bits), input of the committee's VRF
        TaskStatus status;
    }

    /// @notice An assignment as returned by `getAssignment`.
    struct AssignmentView {
        uint256 taskId;
        uint256 nodeId;
        address nodeOwner;
        uint256 units;
        uint256 pricePerUnitHour;
        uint256 startAt;
        uint256 lastCheckpointAt; // startAt until the first checkpoint
        uint256 checkpointStep; // 0 until the first checkpoint
        uint256 checkpointCodec; // multicodec of the latest checkpoint CID, 0 if none
        uint256 resumesFrom; // the assignment whose checkpoints this one continues, 0 if none
        AssignmentStatus status;
    }

    // ------------------------------------------------------------------ errors

    /// @notice Thrown when a task asks for zero units (or more than 2^24 - 1), or an assignment
    ///         for zero units.
    error TaskMarketInvalidUnits(uint256 units);
    /// @notice Thrown when a price cap of zero (or beyond uint96) is given.
    error TaskMarketInvalidPrice(uint256 maxPricePerUnitHour);
    /// @notice Thrown when a duration of zero is given, or an end beyond the uint32 clock.
    error TaskMarketInvalidDuration(uint256 durationLimit);
    /// @notice Thrown when the resource class is not one the NodeRegistry configured (no node
    ///         could ever run the task).
    error TaskMarketInvalidClass(bytes32 resourceClass);
    /// @notice Thrown when units * maxPrice * duration does not fit the escrow field (uint96).
    error TaskMarketEscrowTooLarge(uint256 escrow, uint256 maximum);
    /// @notice Thrown when `taskId` does not exist.
    error TaskMarketUnknownTask(uint256 taskId);
    /// @notice Thrown when `caller` acts on a task of `developer`.
    error TaskMarketNotDeveloper(uint256 taskId, address caller, address developer);
    /// @notice Thrown when the action needs an Open task.
    error TaskMarketTaskNotOpen(uint256 taskId, TaskStatus status);
    /// @notice Thrown when an ended-task settlement is asked for before the task's end.
    error TaskMarketTaskStillOpen(uint256 taskId, uint256 expiresAt);
    /// @notice Thrown when a cancelled task's running assignment is settled while its completion
    ///         window is still open (its node may still deliver the final checkpoint).
    error TaskMarketCompletionWindowOpen(uint256 taskId, uint256 closesAt);
    /// @notice Thrown when an assignment completes after its task stopped taking checkpoints
    ///         (its end, or the end of the completion window of a cancellation): it is settled
    ///         at its last checkpoint instead.
    error TaskMarketCheckpointsClosed(uint256 taskId, uint256 closedAt);
    /// @notice Thrown when a refund is asked for while assignments of the task still run.
    error TaskMarketUnitsStillRunning(uint256 taskId, uint256 runningUnits);
    /// @notice Thrown when the task's escrow was already refunded (or paid out entirely).
    error TaskMarketNothingToRefund(uint256 taskId);
    /// @notice Thrown when a top-up buys less than one second for the task's remaining units.
    error TaskMarketTopUpTooSmall(uint256 taskId, uint256 amount, uint256 minimum);
    /// @notice Thrown when `assignmentId` does not exist.
    error TaskMarketUnknownAssignment(uint256 assignmentId);
    /// @notice Thrown when the action needs a Running assignment.
    error TaskMarketAssignmentNotRunning(uint256 assignmentId, AssignmentStatus status);
    /// @notice Thrown when a reassignment names an assignment that did not end by failure (or was
    ///         already reassigned: status Reassigned).
    error TaskMarketAssignmentNotFailed(uint256 assignmentId, AssignmentStatus status);
    /// @notice Thrown when `caller` acts on an assignment held by the node of `nodeOwner`.
    error TaskMarketNotAssignee(uint256 assignmentId, address caller, address nodeOwner);
    /// @notice Thrown when more units are asked for than the task has waiting.
    error TaskMarketInsufficientPendingUnits(uint256 taskId, uint256 requested, uint256 pending);
    /// @notice Thrown when `nodeId` does not exist.
    error TaskMarketUnknownNode(uint256 nodeId);
    /// @notice Thrown when the node does not take new work (not Active).
    error TaskMarketNodeNotActive(uint256 nodeId, INodeRegistry.Status status);
    /// @notice Thrown when a node that failed would complete, or have its work moved: its running
    ///         assignments are settled only by `settleNodeFailure` (or `settle`), with compensation.
    error TaskMarketNodeFailed(uint256 nodeId);
    /// @notice Thrown when the node's class is not the task's.
    error TaskMarketClassMismatch(uint256 nodeId, bytes32 nodeClass, bytes32 taskClass);
    /// @notice Thrown when more units are asked for than the node has free.
    error TaskMarketInsufficientCapacity(uint256 nodeId, uint256 requested, uint256 free);
    /// @notice Thrown when the price is above the task's cap.
    error TaskMarketPriceAboveCap(uint256 taskId, uint256 price, uint256 maxPricePerUnitHour);
    /// @notice Thrown when an allocation's price is not the node's current asking price (the
    ///         market pays the ask: never more, and a node that changed its price is skipped).
    error TaskMarketPriceNotNodePrice(uint256 nodeId, uint256 price, uint256 nodePrice);
    /// @notice Thrown when an assignment is moved to the node it already runs on.
    error TaskMarketSameNode(uint256 assignmentId, uint256 nodeId);
    /// @notice Thrown when a failure settlement names a node that is not Failed.
    error TaskMarketNodeNotFailed(uint256 nodeId, INodeRegistry.Status status);
    /// @notice Thrown when a failure settlement finds none of the given assignments still running
    ///         on the node (all settled already, or none given).
    error TaskMarketNoRunningAssignments(uint256 nodeId);
    /// @notice Thrown when a failure settlement lists an assignment running on another node.
    error TaskMarketAssignmentNotOnNode(uint256 assignmentId, uint256 nodeId, uint256 assignmentNodeId);
    /// @notice Thrown when `account` has no earnings to withdraw.
    error TaskMarketNothingToWithdraw(address account);
    /// @notice Thrown when `account` has no compensation to claim.
    error TaskMarketNothingToClaim(address account);
    /// @notice Thrown when anyone but the CheckpointRegistry records a checkpoint.
    error TaskMarketNotCheckpointRegistry(address caller);
    /// @notice Thrown when `caller` lacks the NodeRegistry's `role` (ALLOCATOR_ROLE).
    error TaskMarketUnauthorized(address caller, bytes32 role);
    /// @notice Thrown when new tasks, top-ups or allocations are asked for while the NodeRegistry
    ///         is paused.
    error TaskMarketPaused();

    // ------------------------------------------------------------------ events

    /// @notice Emitted when a task is submitted and its escrow pulled.
    event TaskSubmitted(
        uint256 indexed taskId,
        address indexed developer,
        bytes32 indexed resourceClass,
        uint256 units,
        uint256 maxPricePerUnitHour,
        uint256 expiresAt,
        uint256 escrow,
        uint256 seed,
        string specURI
    );
    /// @notice Emitted when a developer adds escrow, which extends the task's end.
    event TaskToppedUp(uint256 indexed taskId, uint256 amount, uint256 escrow, uint256 expiresAt);
    /// @notice Emitted when a developer cancels a task: it ends now (pay stops at this block's
    ///         time); its running assignments may still commit and complete until
    ///         `checkpointsCloseAt` (the completion window), and are settled after it.
    event TaskCancelled(uint256 indexed taskId, uint256 runningUnits, uint256 checkpointsCloseAt);
    /// @notice Emitted when the last unit of a task completes.
    event TaskCompleted(uint256 indexed taskId);
    /// @notice Emitted when the unused escrow of an ended task is paid back.
    event TaskRefunded(uint256 indexed taskId, address indexed developer, uint256 amount);
    /// @notice Emitted when an assignment opens (resumesFrom = 0 unless it continues another).
    event AssignmentCreated(
        uint256 indexed assignmentId,
        uint256 indexed taskId,
        uint256 indexed nodeId,
        uint256 units,
        uint256 pricePerUnitHour,
        uint256 resumesFrom
    );
    /// @notice Emitted when an assignment closes; it earned `earned` for the span up to paidUntil.
    event AssignmentClosed(
        uint256 indexed assignmentId,
        uint256 indexed taskId,
        uint256 indexed nodeId,
        AssignmentStatus status,
        uint256 paidUntil,
        uint256 earned
    );
    /// @notice Emitted when a Failed assignment becomes Reassigned: `newAssignmentId` resumes it.
    event AssignmentReassigned(uint256 indexed failedAssignmentId, uint256 indexed newAssignmentId);
    /// @notice Emitted when a VRF draw of a reassignment of `assignmentId` is published (applied or
    ///         skipped): `draw` is its index, so `drawsOf(assignmentId)` is now draw + 1.
    event ReassignmentDrawn(uint256 indexed assignmentId, uint256 draw);
    /// @notice Emitted when running assignments of a failed node are settled (one page).
    event NodeFailureSettled(
        uint256 indexed nodeId, uint256 assignments, uint256 units, uint256 compensation
    );
    /// @notice Emitted when a developer is credited a share of a failed node's compensation.
    event CompensationCredited(
        uint256 indexed assignmentId, address indexed developer, uint256 amount
    );
    /// @notice Emitted when a node owner withdraws earnings.
    event EarningsWithdrawn(address indexed account, uint256 amount);
    /// @notice Emitted when a developer claims compensation.
    event CompensationWithdrawn(address indexed account, uint256 amount);

    // ------------------------------------------------------------------ developers

    /// @notice Submits a task and pulls its escrow, ceil(units * maxPrice * durationLimit / 3600)
    ///         VER wei, from the caller (approve first). A cap below every node's price is allowed:
    ///         the task waits. Refused while paused.
    /// @param resourceClass a class the NodeRegistry configured, e.g. keccak256("GPU-A100-80G")
    /// @param units whole units of the class (1 to 2^24 - 1)
    /// @param maxPricePerUnitHour the most the developer pays per unit-hour (1 to 2^96 - 1)
    /// @param durationLimit seconds from now after which the task ends (> 0; the end must fit the
    ///        uint32 clock)
    /// @param specURI where the task describes its work (emitted, not stored)
    /// @return taskId the new task's id (ids start at 1)
    function submitTask(
        bytes32 resourceClass,
        uint256 units,
        uint256 maxPricePerUnitHour,
        uint256 durationLimit,
        string calldata specURI
    ) external returns (uint256 taskId);

    /// @notice Same as `submitTask`, approving the escrow with an ERC-2612 permit signature.
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
    ) external returns (uint256 taskId);

    /// @notice Adds `amount` VER (approve first) to an Open task's escrow and extends its end by
    ///         what the amount buys for the units not yet completed at the cap:
    ///         floor(amount * 3600 / ((pending + running units) * maxPrice)) seconds. Refused
    ///         while paused.
    function topUp(uint256 taskId, uint256 amount) external;

    /// @notice Cancels an Open task (developer only): it ends now, and no span after now is ever
    ///         paid. Its running assignments get a completion window of COMPLETION_WINDOW seconds:
    ///         until then their nodes may still commit checkpoints and `complete` (paid up to the
    ///         cancellation at most), and `settle` is refused; after it, anyone settles them at
    ///         their last checkpoint. So the developer cannot cancel and settle in front of a
    ///         node's final checkpoint. Works while paused.
    function cancel(uint256 taskId) external;

    /// @notice Pays the unused escrow of a Completed or Ended task back to its developer, once no
    ///         assignment of it runs (developer only). Works while paused.
    /// @return amount the VER wei refunded
    function claimRefund(uint256 taskId) external returns (uint256 amount);

    /// @notice Transfers the caller's compensation from failed nodes to the caller. Works while
    ///         paused.
    /// @return amount the VER wei claimed
    function claimCompensation() external returns (uint256 amount);

    // ------------------------------------------------------------------ nodes

    /// @notice Records the final checkpoint of a Running assignment (its node's owner only) and
    ///         settles it: it earns up to now (at most the task's end), its units are done.
    /// @dev Reverts TaskMarketNodeFailed when the node failed, TaskMarketCheckpointsClosed once
    ///      the task takes no more checkpoints (`checkpointDeadline`).
    /// @param finalCid binary CIDv1 (raw or dag-pb, sha2-256) of the finished work
    function complete(uint256 assignmentId, bytes calldata finalCid) external;

    /// @notice Transfers the caller's earnings to the caller. Works while paused.
    /// @return amount the VER wei withdrawn
    function withdraw() external returns (uint256 amount);

    // ------------------------------------------------------------------ anyone

    /// @notice Settles a Running assignment of a task that takes no more checkpoints (its end
    ///         has passed, and after a cancellation the completion window too): it earns up to
    ///         its last checkpoint (at most the task's end) and frees its capacity. When its node
    ///         has failed, it is settled as in `settleNodeFailure` (status Failed, compensation
    ///         credited).
    function settle(uint256 assignmentId) external;

    /// @notice Once NodeRegistry says `nodeId` is Failed, ends those of `assignmentIds` that still
    ///         run on the node at their last checkpoint, returns their units to their tasks,
    ///         frees the capacity and credits each one's developer units x compensationPerUnit
    ///         (fixed when the node failed). Anyone may call it, with any subset of the node's
    ///         running assignments (a page), in any order: ids no longer running (already settled
    ///         or closed) are passed over, so a concurrent settlement never blocks another.
    /// @dev Reverts TaskMarketNoRunningAssignments when none of the ids was still running on the
    ///      node, TaskMarketAssignmentNotOnNode for an id running on another node. The node's
    ///      running assignments are found from AssignmentCreated / AssignmentClosed (indexed by
    ///      node). About 17k gas per assignment.
    function settleNodeFailure(uint256 nodeId, uint256[] calldata assignmentIds) external;

    // ------------------------------------------------------------------ allocator role

    /// @notice Opens an assignment of `units` of a task on a node at `pricePerUnitHour`.
    /// @dev Needs the NodeRegistry's ALLOCATOR_ROLE; refused while paused. Reverts with a
    ///      distinct error for each failed precondition: task Open, 0 < units <= pending units,
    ///      price <= task cap, node exists, Active and of the task's class, units <= its free
    ///      capacity, price == the node's asking price. The escrow needs no check: it covers
    ///      every assignment the task can make (see TaskMarket.sol).
    /// @return assignmentId the new assignment's id (ids start at 1)
    function assign(uint256 taskId, uint256 nodeId, uint256 units, uint256 pricePerUnitHour)
        external
        returns (uint256 assignmentId);

    /// @notice Closes a Running assignment at its last checkpoint (status Moved) and opens one
    ///         for the same task and units on `toNodeId`, at that node's price, resuming from it.
    ///         Not for the assignments of a failed node (TaskMarketNodeFailed).
    /// @return newAssignmentId the assignment on `toNodeId`
    function move(uint256 assignmentId, uint256 toNodeId) external returns (uint256 newAssignmentId);

    /// @notice Opens an assignment for the units of a Failed assignment on `newNodeId`, at that
    ///         node's price, resuming from it (which becomes Reassigned: AssignmentReassigned).
    /// @return newAssignmentId the assignment on `newNodeId`
    function reassign(uint256 failedAssignmentId, uint256 newNodeId)
        external
        returns (uint256 newAssignmentId);

    /// @notice Consumes the next VRF draw of `assignmentId` (ALLOCATOR_ROLE) and returns what
    ///         the draw's VRF input binds: alpha = abi.encode(chainid, market, taskId, seed,
    ///         uint64 attempt) with attempt = draw << 32 | assignmentId, draw = drawsOf before the
    ///         call. Every reassignment entry the verifier verifies consumes one draw, applied or
    ///         skipped, so a published VRF output is never drawn again.
    /// @dev Emits ReassignmentDrawn. Reverts TaskMarketUnknownAssignment.
    /// @return taskId the assignment's task
    /// @return seed the task's seed
    /// @return attempt draw << 32 | assignmentId
    /// @return status the assignment's status (a reassignment needs Failed)
    function drawReassignment(uint256 assignmentId)
        external
        returns (uint256 taskId, uint256 seed, uint256 attempt, AssignmentStatus status);

    // ------------------------------------------------------------------ checkpoint registry

    /// @notice Records a checkpoint of a Running assignment: step and codec, time = now.
    /// @dev Only the CheckpointRegistry. Reverts with the CheckpointRegistry's errors when `caller`
    ///      does not own the assignment's node, `step` does not increase, the node failed or the
    ///      task takes no more checkpoints.
    function recordCheckpoint(uint256 assignmentId, address caller, uint256 step, uint256 codec)
        external;

    // ------------------------------------------------------------------ views

    /// @notice The completion window after a cancellation, in seconds.
    function COMPLETION_WINDOW() external view returns (uint256);

    /// @notice The NodeRegistry whose nodes run the work, roles and pause.
    function nodeRegistry() external view returns (INodeRegistry);

    /// @notice The task `taskId`; reverts TaskMarketUnknownTask when it does not exist.
    function getTask(uint256 taskId) external view returns (TaskView memory);

    /// @notice Until when the task's running assignments may commit and complete: its end
    ///         (expiresAt), plus COMPLETION_WINDOW after a cancellation. Settlement of running
    ///         assignments is possible from then on. 0 for an unknown task.
    function checkpointDeadline(uint256 taskId) external view returns (uint256);

    /// @notice The assignment `assignmentId`; reverts TaskMarketUnknownAssignment when unknown.
    function getAssignment(uint256 assignmentId) external view returns (AssignmentView memory);

    /// @notice How many VRF draws of reassignments of `assignmentId` were published: the draw
    ///         index the next reassignment entry must prove (see drawReassignment).
    function drawsOf(uint256 assignmentId) external view returns (uint256);

    /// @notice Latest checkpoint data of an assignment kept by the market: step, codec, time and
    ///         the assignment it resumes from (for the CheckpointRegistry's views).
    function checkpointOf(uint256 assignmentId)
        external
        view
        returns (uint256 step, uint256 codec, uint256 lastCheckpointAt, uint256 resumesFrom);

    /// @notice The three running totals whose sum is the market's VER balance.
    function totals()
        external
        view
        returns (uint256 totalEscrow, uint256 totalEarnings, uint256 totalCompensation);

    /// @notice Earnings of `account` not yet withdrawn.
    function earningsOf(address account) external view returns (uint256);

    /// @notice Compensation credited to `account` not yet claimed.
    function compensationOf(address account) external view returns (uint256);

    /// @notice How many tasks were ever submitted (ids run from 1 to taskCount).
    function taskCount() external view returns (uint256);

    /// @notice How many assignments were ever opened (ids run from 1 to assignmentCount).
    function assignmentCount() external view returns (uint256);

    /// @notice The CheckpointRegistry this market deployed and trusts.
    function checkpointRegistry() external view returns (address);
}
