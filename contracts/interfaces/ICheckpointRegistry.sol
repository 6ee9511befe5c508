// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ITaskMarket} from "./ITaskMarket.sol";

/// @title ICheckpointRegistry
/// @notice The node holding a running assignment records the content identifier (CID) of each
///         checkpoint of its work here. Each assignment is its own checkpoint chain; an assignment
///         that resumes another (after a move or a failure) continues that chain, so an agent
///         finds where to resume with `resumePoint`.
/// @dev CIDs are binary CIDv1 with a sha2-256 multihash and the raw (0x55) or dag-pb (0x70) codec,
///      the 36 bytes `ipfs add --cid-version=1` gives (parsed by libraries/CID.sol, which reverts
///      with CidVersionUnsupported, CidCodecUnsupported, CidHashUnsupported,
///      CidDigestLengthInvalid, CidLengthInvalid or CidVarintInvalid). Storage keeps the digest
///      here and the step, codec and time in the market's assignment slot; events carry the CID.
interface ICheckpointRegistry {
    // ------------------------------------------------------------------ errors

    /// @notice Thrown when `caller` commits for an assignment held by the node of `nodeOwner`.
    error CheckpointRegistryNotAssignee(uint256 assignmentId, address caller, address nodeOwner);
    /// @notice Thrown when the assignment does not exist (status None) or is not running.
    error CheckpointRegistryAssignmentNotRunning(
        uint256 assignmentId, ITaskMarket.AssignmentStatus status
    );
    /// @notice Thrown when the step is not above the assignment's last step (steps start at 1).
    error CheckpointRegistryStepNotIncreasing(uint256 assignmentId, uint256 step, uint256 lastStep);
    /// @notice Thrown when the step does not fit the stored field (uint48).
    error CheckpointRegistryStepTooLarge(uint256 step, uint256 maximum);
    /// @notice Thrown when anyone but the market records a final checkpoint.
    error CheckpointRegistryNotMarket(address caller);
    /// @notice Thrown when the assignment's task takes no more checkpoints: its end has passed
    ///         (after a cancellation: the end of its completion window), `closedAt`.
    error CheckpointRegistryCheckpointsClosed(uint256 assignmentId, uint256 closedAt);
    /// @notice Thrown when the node running the assignment has failed: it commits nothing more.
    error CheckpointRegistryNodeFailed(uint256 assignmentId, uint256 nodeId);

    // ------------------------------------------------------------------ events

    /// @notice Emitted for every checkpoint, with the full binary CID; `isFinal` for the one
    ///         recorded when the assignment completes.
    event CheckpointCommitted(uint256 indexed assignmentId, uint256 step, bytes cid, bool isFinal);

    // ------------------------------------------------------------------ node

    /// @notice Records checkpoint `step` of a running assignment (owner of its node only), while
    ///         its node has not failed and its task still takes checkpoints (before its end; after a
    ///         cancellation, during the completion window: `TaskMarket.checkpointDeadline`).
    /// @param assignmentId the running assignment
    /// @param step strictly above the last step of the assignment (the first is at least 1)
    /// @param cid the binary CIDv1 of the checkpoint bytes
    function commit(uint256 assignmentId, uint256 step, bytes calldata cid) external;

    // ------------------------------------------------------------------ market

    /// @notice Records the final checkpoint of an assignment that completes (market only; the
    ///         market has parsed `cid` and recorded its step, codec and time).
    function recordFinal(uint256 assignmentId, uint256 step, bytes calldata cid) external;

    // ------------------------------------------------------------------ views

    /// @notice The market whose assignments this registry records.
    function market() external view returns (address);

    /// @notice The latest checkpoint of the assignment (step 0 and an empty CID if none).
    /// @return step the step of the checkpoint
    /// @return codec its multicodec (0x55 raw, 0x70 dag-pb; 0 if none)
    /// @return digest its sha2-256 digest
    /// @return committedAt when it was recorded
    /// @return cid the binary CID
    function latestCheckpoint(uint256 assignmentId)
        external
        view
        returns (uint256 step, uint256 codec, bytes32 digest, uint256 committedAt, bytes memory cid);

    /// @notice Where the work of `assignmentId` resumes: its own latest checkpoint, else the
    ///         latest one found by following `resumesFrom` back through the chain.
    /// @return source the assignment whose checkpoint it is (0 if the chain has none: start fresh)
    /// @return step the step of that checkpoint
    /// @return cid the binary CID of that checkpoint (empty if none)
    function resumePoint(uint256 assignmentId)
        external
        view
        returns (uint256 source, uint256 step, bytes memory cid);
}
