// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IVRFErrors, ISortitionErrors, VRFHelpers} from "./IVRFVerifier.sol";

/// @title IReportVerifier
/// @notice The oracle committee's reports reach the chain here. A report is EIP-712 typed data
///         signed by at least m of the n committee members (m > n / 2, so any two quorums share
///         a member); it carries its round, which must be the latest accepted round + 1, the
///         config digest it was signed under, the snapshot block and the digest of the
///         published inputs + solution, and three lists of entries: allocations (new assignments),
///         moves (rebalancing) and reassignments (a failed assignment's units go to a node picked
///         by the committee's VRF). Every entry is re-checked by the TaskMarket when it is
///         applied; an entry that no longer holds is skipped with `EntrySkipped`, the rest of the
///         report applies.
/// @dev EIP-712 domain: name "VerAI ReportVerifier", version "1", chain id, this contract.
///      Typed data (what members sign, readable in a wallet):
///        Report(bytes32 configDigest,uint64 round,uint64 snapshotBlock,bytes32 inputsDigest,
///               Allocation[] allocations,Move[] moves,Reassignment[] reassignments)
///        Allocation(uint64 taskId,uint64 nodeId,uint32 units,uint96 price)
///        Move(uint64 assignmentId,uint64 toNodeId)
///        Reassignment(uint64 assignmentId,uint64 nodeId,uint64[] candidates,uint32[] weights)
///      Calldata (what is sent, tight because BASE charges the L1 data fee per byte): every
///      entry is one packed word, high bits first:
///        allocation   taskId (64) | nodeId (64) | units (32) | price (96)
///        move         0 (128) | assignmentId (64) | toNodeId (64)
///        reassignment 0 (128) | assignmentId (64) | nodeId (64)
///        candidate    0 (160) | nodeId (64) | weight (32)
///      Bits outside the fields are ignored (neither hashed nor applied). A reassignment's VRF
///      input is alpha = abi.encode(chainid, market, taskId, task seed, uint64 attempt) with
///      attempt = draw << 32 | the id of the failed assignment, where draw is
///      `TaskMarket.drawsOf(failed id)` when the entry is applied: every entry naming an
///      existing assignment consumes one draw (`TaskMarket.ReassignmentDrawn`) before anything
///      else is checked, whether it then applies or is skipped, so a VRF output that was
///      published is never drawn again and nobody can choose the attempt. The committee proves
///      draw = drawsOf at its snapshot block plus the entries for the same assignment in the
///      earlier reports it built from that snapshot. The VRF proof and its helper values are not
///      signed: they are verified against the committee's VRF key, and a proof that does not
///      verify reverts the whole transmission (so a transmitter cannot turn a signed
///      reassignment into a skipped one). The candidates and their weights are attested by the
///      signatures and re-checked: each weight must equal the candidate's free units on-chain
///      when the entry is applied (the snapshot's free units as changed by the report's earlier
///      entries), else the entry is skipped (CandidateWeightMismatch); the market re-checks the
///      chosen node. Signatures are
///      EIP-2098 compact (r ‖ yParity·2^255 + s, 64 bytes each), concatenated, ordered by
///      signer address strictly ascending.
///      Entry indexes in `EntrySkipped` run over the allocations, then the moves, then the
///      reassignments of the report.
///      State from events: latestRound = the round of the last ReportAccepted (its snapshot
///      block too); config = the last ConfigSet; roles and admin = OpenZeppelin's RoleGranted /
///      RoleRevoked / DefaultAdmin* events.
interface IReportVerifier is IVRFErrors, ISortitionErrors {
    // ------------------------------------------------------------------ types

    /// @notice A reassignment entry as transmitted (packing above).
    struct Reassignment {
        uint256 packed; // assignmentId (64) | nodeId (64)
        uint256[] candidates; // nodeId (64) | weight (32), node ids strictly ascending
        bytes proof; // ECVRF proof (81 bytes) of alpha(chainid, market, taskId, seed, attempt)
        VRFHelpers helpers; // the prover's helper values (`oracle.vrf.verifier_inputs`)
    }

    /// @notice A report as transmitted.
    struct Report {
        bytes32 configDigest;
        uint64 round;
        uint64 snapshotBlock;
        bytes32 inputsDigest; // sha-256 digest of the CID of the published inputs + solution
        uint256[] allocations; // taskId (64) | nodeId (64) | units (32) | price (96)
        uint256[] moves; // assignmentId (64) | toNodeId (64)
        Reassignment[] reassignments;
    }

    // ------------------------------------------------------------------ errors: transmit

    /// @notice Thrown when the report was signed under `have` but the current config is `want`.
    error ConfigDigestMismatch(bytes32 have, bytes32 want);
    /// @notice Thrown when the report's round `have` is not the latest accepted round + 1
    ///         (`want`): a report can neither replay an old round nor skip ahead, so no report
    ///         can ever stop later ones (the oracle numbers the reports of a round consecutively).
    error RoundNotNext(uint256 have, uint256 want);
    /// @notice Thrown when the snapshot block is not below the current block, or below the
    ///         snapshot block of the latest accepted report (`lowest`).
    error InvalidSnapshotBlock(uint256 snapshotBlock, uint256 lowest, uint256 currentBlock);
    /// @notice Thrown when the signatures are not a whole number of 64-byte compact signatures.
    error SignaturesMalformed(uint256 length);
    /// @notice Thrown when fewer than the threshold of signatures come with the report.
    error NotEnoughSignatures(uint256 have, uint256 want);
    /// @notice Thrown when a signature recovers to `signer`, who is not in the committee.
    error SignerNotInCommittee(address signer);
    /// @notice Thrown when the signer of signature `index` is not above the previous signer
    ///         (signatures must be sorted by signer address, strictly ascending: no duplicates).
    error SignaturesNotSorted(uint256 index);
    /// @notice Thrown when applying entry `index` reverted without data (out of gas): the
    ///         transmitter gave too little gas, the report must not be consumed.
    error EntryRevertedWithoutReason(uint256 index);

    // ------------------------------------------------------------------ errors: setConfig

    /// @notice Thrown when there are more than 31 signers.
    error TooManySigners(uint256 have, uint256 maximum);
    /// @notice Thrown when the threshold is not a majority of the signers: signers / 2 <
    ///         threshold <= signers (so that any two quorums share a member).
    error InvalidThreshold(uint256 threshold, uint256 signers);
    /// @notice Thrown when signer `index` is not above the previous one (strictly ascending
    ///         addresses, none zero).
    error SignersNotSorted(uint256 index);
    /// @notice Thrown when the VRF public key is not a 33-byte SEC1 compressed point.
    error InvalidVrfPublicKey(bytes publicKey);
    /// @notice Thrown when the data contract holding the committee (`length` bytes of code)
    ///         could not be created (out of gas).
    error ConfigStoreNotCreated(uint256 length);

    // ------------------------------------------------------------------ errors: parameters

    /// @notice Thrown when governance parameter `name` is given `value`, outside [minimum,
    ///         maximum] (the NodeRegistryParameterOutOfRange pattern).
    error ReportVerifierParameterOutOfRange(bytes32 name, uint256 value, uint256 minimum, uint256 maximum);

    // ------------------------------------------------------------------ skip reasons
    // Never thrown: their selectors are the `reason` of `EntrySkipped` for the checks this
    // contract makes itself (the market's own errors are the reasons of the other skips).

    /// @notice Skip reason: the reassignment's candidates are not sorted by node id, strictly
    ///         ascending, at `index`.
    error CandidatesNotSorted(uint256 index);
    /// @notice Skip reason: the weighted pick from beta chose `picked`, the entry names `given`.
    error PickMismatch(uint256 picked, uint256 given);
    /// @notice Skip reason: candidate `nodeId` has weight `weight` in the entry but `free` free
    ///         units on-chain when the entry is applied.
    error CandidateWeightMismatch(uint256 nodeId, uint256 weight, uint256 free);

    // ------------------------------------------------------------------ events

    /// @notice Emitted when the committee config changes.
    event ConfigSet(
        bytes32 configDigest, uint32 version, address[] signers, uint8 threshold, bytes vrfPublicKey
    );
    /// @notice Emitted when a report was verified and applied; `applied` + `skipped` entries.
    event ReportAccepted(
        uint64 indexed round,
        bytes32 indexed configDigest,
        bytes32 reportDigest,
        uint64 snapshotBlock,
        bytes32 inputsDigest,
        uint256 applied,
        uint256 skipped
    );
    /// @notice Emitted when entry `index` of the report of `round` did not apply; `reason` is the
    ///         selector of the error that stopped it.
    event EntrySkipped(uint64 indexed round, uint256 index, bytes4 reason);
    /// @notice Emitted when the energy weight of the oracle's energy-aware mode changes
    ///         (`weiPerKWh` VER wei per kWh; 0: the mode is off).
    event EnergyWeightSet(uint256 weiPerKWh);

    // ------------------------------------------------------------------ transmit

    /// @notice Verifies a committee report and applies its entries through the TaskMarket.
    /// @dev Reverts with ConfigDigestMismatch, RoundNotNext, InvalidSnapshotBlock,
    ///      SignaturesMalformed, NotEnoughSignatures, SignerNotInCommittee, SignaturesNotSorted,
    ///      an ECDSA error for a malformed signature, a VRF error for a proof that does not
    ///      verify, or EntryRevertedWithoutReason. Anyone may transmit: the signatures authorise.
    /// @param report the report (see the packing above)
    /// @param signatures at least `threshold` compact signatures (64 bytes each) of
    ///        `hashReport(report)`, sorted by signer address strictly ascending
    function transmit(Report calldata report, bytes calldata signatures) external;

    // ------------------------------------------------------------------ governance

    /// @notice Replaces the committee (admin role). The version increases by one; reports
    ///         signed under an earlier config no longer verify. Rounds keep counting across
    ///         configs (the next report is latestRound + 1).
    /// @param signers member addresses, strictly ascending, 1..31 of them
    /// @param threshold signatures a report needs: a majority, signers.length / 2 + 1 at least
    /// @param vrfPublicKey the committee's ECVRF public key, 33-byte SEC1 compressed
    function setConfig(address[] calldata signers, uint8 threshold, bytes calldata vrfPublicKey)
        external;

    /// @notice Sets the energy weight of the oracle's energy-aware mode (admin role): the VER
    ///         wei per kWh that every member adds, per unit-hour, to the allocation cost of a
    ///         node from its measured power (watts of its last heartbeat / capacity). 0 turns
    ///         the mode off (the default). Members read it at a round's snapshot block and
    ///         publish it in the round's inputs, so they all solve, and an auditor re-solves,
    ///         with the same weight; the chain does not use it otherwise.
    /// @dev Reverts with ReportVerifierParameterOutOfRange above MAX_ENERGY_WEIGHT, with
    ///      AccessControlUnauthorizedAccount for a caller without DEFAULT_ADMIN_ROLE.
    /// @param weiPerKWh VER wei per kWh, 0..MAX_ENERGY_WEIGHT
    function setEnergyWeight(uint256 weiPerKWh) external;

    // ------------------------------------------------------------------ views

    /// @notice The EIP-712 digest members sign for `report` (oracle: `reports.report_digest`).
    function hashReport(Report calldata report) external view returns (bytes32);

    /// @notice The current config: digest, version, signers, threshold and VRF public key.
    function config()
        external
        view
        returns (
            bytes32 configDigest,
            uint32 version,
            address[] memory signers,
            uint8 threshold,
            bytes memory vrfPublicKey
        );

    /// @notice keccak256(abi.encode(chainid, this, version, signers, threshold, vrfPublicKey)).
    function computeConfigDigest(
        uint32 version,
        address[] calldata signers,
        uint8 threshold,
        bytes calldata vrfPublicKey
    ) external view returns (bytes32);

    /// @notice The latest accepted round (0 before the first report) and its snapshot block.
    function latestRound() external view returns (uint64 round, uint64 snapshotBlock);

    /// @notice The TaskMarket the reports apply to.
    function market() external view returns (address);

    /// @notice The energy weight of the oracle's energy-aware mode, VER wei per kWh (0: off).
    function energyWeight() external view returns (uint256);
}
