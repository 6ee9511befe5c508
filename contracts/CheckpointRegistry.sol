// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {CID} from "./libraries/CID.sol";
import {ICheckpointRegistry} from "./interfaces/ICheckpointRegistry.sol";
import {ITaskMarket} from "./interfaces/ITaskMarket.sol";

/// @title CheckpointRegistry
/// @notice The checkpoint chains of the market's assignments: the node holding a running
///         assignment commits the CID of each checkpoint; the market records the final one when
///         the assignment completes.
/// @dev Deployed by the TaskMarket's constructor, so both addresses are immutable on both sides.
///      A checkpoint is stored in two halves so that a commit writes exactly two slots, and the
///      first commit of an assignment creates only one: the sha2-256 digest here (one slot per
///      assignment), and the step, codec and time in the market's hot assignment slot, which the
///      commit must write anyway (lastCheckpointAt) and which already holds the node owner the
///      commit is checked against.
contract CheckpointRegistry is ICheckpointRegistry {
    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ICheckpointRegistry
    address public immutable market;

    /// @dev The digest of the latest checkpoint of each assignment.
    mapping(uint256 assignmentId => bytes32 digest) private _digests;

    /*//////////////////////////////////////////////////////////////
                               CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param market_ the TaskMarket (which deploys this contract)
    constructor(address market_) {
        market = market_;
    }

    /*//////////////////////////////////////////////////////////////
                                  NODE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ICheckpointRegistry
    function commit(uint256 assignmentId, uint256 step, bytes calldata cid) external {
        (uint256 codec, bytes32 digest) = CID.parse(cid);
        // Checks the caller, the status and the step, and records step, codec and time.
        ITaskMarket(market).recordCheckpoint(assignmentId, msg.sender, step, codec);
        _digests[assignmentId] = digest;
        emit CheckpointCommitted(assignmentId, step, cid, false);
    }

    /*//////////////////////////////////////////////////////////////
                                 MARKET
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ICheckpointRegistry
    function recordFinal(uint256 assignmentId, uint256 step, bytes calldata cid) external {
        if (msg.sender != market) revert CheckpointRegistryNotMarket(msg.sender);
        // The market stored the codec (byte 1); parsing validates the CID and yields the digest.
        // slither-disable-next-line unused-return
        (, bytes32 digest) = CID.parse(cid);
        _digests[assignmentId] = digest;
        emit CheckpointCommitted(assignmentId, step, cid, true);
    }

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ICheckpointRegistry
    function latestCheckpoint(uint256 assignmentId)
        public
        view
        returns (uint256 step, uint256 codec, bytes32 digest, uint256 committedAt, bytes memory cid)
    {
        // slither-disable-next-line unused-return (resumesFrom is not needed here)
        (step, codec, committedAt,) = ITaskMarket(market).checkpointOf(assignmentId);
        if (codec == 0) return (0, 0, bytes32(0), 0, "");
        digest = _digests[assignmentId];
        cid = CID.encode(codec, digest);
    }

    /// @inheritdoc ICheckpointRegistry
    function resumePoint(uint256 assignmentId)
        external
        view
        returns (uint256 source, uint256 step, bytes memory cid)
    {
        ITaskMarket m = ITaskMarket(market);
        source = assignmentId;
        // Each hop goes to an older assignment (resumesFrom < id), so the walk ends.
        while (source != 0) {
            // slither-disable-next-line unused-return (the time is not needed here)
            (uint256 s, uint256 codec,, uint256 resumesFrom) = m.checkpointOf(source);
            if (codec != 0) return (source, s, CID.encode(codec, _digests[source]));
            source = resumesFrom;
        }
        return (0, 0, "");
    }
}
