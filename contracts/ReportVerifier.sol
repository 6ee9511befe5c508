// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IReportVerifier} from "./interfaces/IReportVerifier.sol";
import {ITaskMarket} from "./interfaces/ITaskMarket.sol";
import {INodeRegistry} from "./interfaces/INodeRegistry.sol";
import {VRF} from "./libraries/VRF.sol";
import {Sortition} from "./libraries/Sortition.sol";

/// @title ReportVerifier
/// @notice Verifies m-of-n EIP-712 reports of the oracle committee and applies their allocations,
///         moves and VRF reassignments through the TaskMarket, whose allocator role it holds.
/// @dev Layout of the calldata, the typed data and the skip rules: see IReportVerifier.
contract ReportVerifier is IReportVerifier, AccessControlDefaultAdminRules, EIP712 {
    /*//////////////////////////////////////////////////////////////
                                CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Most members a committee may have.
    uint256 public constant MAX_SIGNERS = 31;
    /// @notice Highest energy weight, VER wei per kWh: 1,000 VER per kWh, thousands of times any
    ///         electricity price, so that a mistyped weight (a wei amount given as VER) is
    ///         refused instead of turning every allocation into an energy-only one.
    uint256 public constant MAX_ENERGY_WEIGHT = 1_000e18;

    bytes32 private constant _REPORT_TYPEHASH = keccak256(
        "Report(bytes32 configDigest,uint64 round,uint64 snapshotBlock,bytes32 inputsDigest,"
        "Allocation[] allocations,Move[] moves,Reassignment[] reassignments)"
        "Allocation(uint64 taskId,uint64 nodeId,uint32 units,uint96 price)"
        "Move(uint64 assignmentId,uint64 toNodeId)"
        "Reassignment(uint64 assignmentId,uint64 nodeId,uint64[] candidates,uint32[] weights)"
    );
    bytes32 private constant _ALLOCATION_TYPEHASH =
        keccak256("Allocation(uint64 taskId,uint64 nodeId,uint32 units,uint96 price)");
    bytes32 private constant _MOVE_TYPEHASH =
        keccak256("Move(uint64 assignmentId,uint64 toNodeId)");
    bytes32 private constant _REASSIGNMENT_TYPEHASH = keccak256(
        "Reassignment(uint64 assignmentId,uint64 nodeId,uint64[] candidates,uint32[] weights)"
    );

    /// @dev Length of an EIP-2098 compact signature: r (32) ‖ yParity·2^255 + s (32).
    uint256 private constant _SIGNATURE_LENGTH = 64;
    /// @dev Length of a SEC1 compressed public key.
    uint256 private constant _VRF_KEY_LENGTH = 33;

    ITaskMarket private immutable _market;
    /// @dev The market's NodeRegistry, whose free units the reassignment weights must equal.
    INodeRegistry private immutable _registry;

    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev Written by every report: latestRound (64) | latestSnapshotBlock (64).
    struct Hot {
        uint64 latestRound;
        uint64 latestSnapshotBlock;
    }

    /// @dev The committee, read by every report and written only by setConfig, in one slot:
    ///      store (160) | version (32) | threshold (8) | count (8). `store` is a data contract
    ///      whose code is 0x00 (STOP, so it cannot be called) ‖ the signers (20 bytes each,
    ///      strictly ascending) ‖ the VRF public key (33 bytes). One EXTCODECOPY loads the whole
    ///      committee, so checking a signer costs a walk in memory instead of a cold SLOAD each.
    struct Committee {
        address store;
        uint32 version;
        uint8 threshold;
        uint8 count;
    }

    bytes32 private _configDigest;
    Hot private _hot;
    Committee private _committee;
    /// @dev VER wei per kWh of the oracle's energy-aware mode (0: off); never read by transmit.
    uint256 private _energyWeight;

    /*//////////////////////////////////////////////////////////////
                               CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param market_ the TaskMarket (grant this contract the NodeRegistry's ALLOCATOR_ROLE after
    ///        deployment)
    /// @param admin holder of DEFAULT_ADMIN_ROLE (changes the committee; transferred in two steps)
    /// @param adminDelay seconds between the start and the acceptance of an admin transfer
    /// @param signers the first committee, strictly ascending
    /// @param threshold signatures a report needs (a majority of the signers)
    /// @param vrfPublicKey the committee's ECVRF public key, 33 bytes compressed
    constructor(
        ITaskMarket market_,
        address admin,
        uint48 adminDelay,
        address[] memory signers,
        uint8 threshold,
        bytes memory vrfPublicKey
    ) AccessControlDefaultAdminRules(adminDelay, admin) EIP712("VerAI ReportVerifier", "1") {
        _market = market_;
        _registry = market_.nodeRegistry();
        _setConfig(signers, threshold, vrfPublicKey);
    }

    /*//////////////////////////////////////////////////////////////
                                TRANSMIT
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IReportVerifier
    function transmit(Report calldata report, bytes calldata signatures) external {
        (bytes32 reportDigest, bytes memory vrfPublicKey) = _verify(report, signatures);
        uint256 skipped = _apply(report, vrfPublicKey);
        emit ReportAccepted(
            report.round,
            report.configDigest,
            reportDigest,
            report.snapshotBlock,
            report.inputsDigest,
            report.allocations.length + report.moves.length + report.reassignments.length
                - skipped,
            skipped
        );
    }

    /*//////////////////////////////////////////////////////////////
                               GOVERNANCE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IReportVerifier
    function setConfig(address[] calldata signers, uint8 threshold, bytes calldata vrfPublicKey)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _setConfig(signers, threshold, vrfPublicKey);
    }

    /// @inheritdoc IReportVerifier
    function setEnergyWeight(uint256 weiPerKWh) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (weiPerKWh > MAX_ENERGY_WEIGHT) {
            revert ReportVerifierParameterOutOfRange("energyWeight", weiPerKWh, 0, MAX_ENERGY_WEIGHT);
        }
        _energyWeight = weiPerKWh;
        emit EnergyWeightSet(weiPerKWh);
    }

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IReportVerifier
    function hashReport(Report calldata report) external view returns (bytes32) {
        return _hashTypedDataV4(_hashReport(report));
    }

    /// @inheritdoc IReportVerifier
    function config()
        external
        view
        returns (
            bytes32 configDigest,
            uint32 version,
            address[] memory signers,
            uint8 threshold,
            bytes memory vrfPublicKey
        )
    {
        Committee memory committee = _committee;
        bytes memory members = _load(committee);
        signers = new address[](committee.count);
        for (uint256 i; i < committee.count; ++i) {
            signers[i] = _memberAt(members, i);
        }
        return (
            _configDigest,
            committee.version,
            signers,
            committee.threshold,
            _vrfKey(members, committee.count)
        );
    }

    /// @inheritdoc IReportVerifier
    function computeConfigDigest(
        uint32 version,
        address[] calldata signers,
        uint8 threshold,
        bytes calldata vrfPublicKey
    ) external view returns (bytes32) {
        return _computeConfigDigest(version, signers, threshold, vrfPublicKey);
    }

    /// @inheritdoc IReportVerifier
    function latestRound() external view returns (uint64 round, uint64 snapshotBlock) {
        Hot memory hot = _hot;
        return (hot.latestRound, hot.latestSnapshotBlock);
    }

    /// @inheritdoc IReportVerifier
    function market() external view returns (address) {
        return address(_market);
    }

    /// @inheritdoc IReportVerifier
    function energyWeight() external view returns (uint256) {
        return _energyWeight;
    }

    /*//////////////////////////////////////////////////////////////
                          INTERNAL: CONFIG
    //////////////////////////////////////////////////////////////*/

    function _setConfig(address[] memory signers, uint8 threshold, bytes memory vrfPublicKey)
        private
    {
        uint256 count = signers.length;
        if (count > MAX_SIGNERS) revert TooManySigners(count, MAX_SIGNERS);
        // a majority: two quorums of more than half the members always share one
        if (threshold <= count / 2 || threshold > count) revert InvalidThreshold(threshold, count);
        if (
            vrfPublicKey.length != _VRF_KEY_LENGTH
                || (vrfPublicKey[0] != 0x02 && vrfPublicKey[0] != 0x03)
        ) revert InvalidVrfPublicKey(vrfPublicKey);
        address previous;
        for (uint256 i; i < count; ++i) {
            if (signers[i] <= previous) revert SignersNotSorted(i);
            previous = signers[i];
        }

        // 0x00 (STOP) ‖ signers, 20 bytes each ‖ VRF key (33 bytes); memory is zeroed
        bytes memory data = new bytes(1 + count * 20 + _VRF_KEY_LENGTH);
        for (uint256 i; i < count; ++i) {
            address signer = signers[i];
            assembly ("memory-safe") {
                // the word written spills 12 zero bytes into the next entry, overwritten next
                mstore(add(data, add(33, mul(i, 20))), shl(96, signer))
            }
        }
        assembly ("memory-safe") {
            mcopy(add(data, add(33, mul(count, 20))), add(vrfPublicKey, 32), 33)
        }
        address store = _deployData(data);
        // 2^32 - 1 config changes cannot happen in practice; checked arithmetic reverts if so
        uint32 version = _committee.version + 1;
        bytes32 digest = _computeConfigDigest(version, signers, threshold, vrfPublicKey);
        _configDigest = digest;
        // count <= 31 was checked above
        _committee = Committee({
            store: store, version: version, threshold: threshold, count: uint8(count)
        });
        emit ConfigSet(digest, version, signers, threshold, vrfPublicKey);
    }

    /// @dev Deploys a contract whose runtime code is `data` (which starts with STOP).
    function _deployData(bytes memory data) private returns (address store) {
        // init code: PUSH4 len, DUP1, PUSH1 14, PUSH1 0, CODECOPY, PUSH1 0, RETURN (14 bytes)
        bytes memory init =
            abi.encodePacked(hex"63", uint32(data.length), hex"80600e6000396000f3", data);
        assembly ("memory-safe") {
            store := create(0, add(init, 32), mload(init))
        }
        // creation only fails when out of gas
        if (store == address(0)) revert ConfigStoreNotCreated(data.length);
    }

    /// @dev The committee's signers (20 bytes each) followed by its VRF key (33 bytes).
    function _load(Committee memory committee) private view returns (bytes memory members) {
        uint256 length = uint256(committee.count) * 20 + _VRF_KEY_LENGTH;
        address store = committee.store;
        members = new bytes(length);
        assembly ("memory-safe") {
            extcodecopy(store, add(members, 32), 1, length)
        }
    }

    function _memberAt(bytes memory members, uint256 index) private pure returns (address a) {
        assembly ("memory-safe") {
            a := shr(96, mload(add(add(members, 32), mul(index, 20))))
        }
    }

    function _vrfKey(bytes memory members, uint256 count) private pure returns (bytes memory key) {
        key = new bytes(_VRF_KEY_LENGTH);
        assembly ("memory-safe") {
            mcopy(add(key, 32), add(add(members, 32), mul(count, 20)), 33)
        }
    }

    function _computeConfigDigest(
        uint32 version,
        address[] memory signers,
        uint8 threshold,
        bytes memory vrfPublicKey
    ) private view returns (bytes32) {
        return keccak256(
            abi.encode(block.chainid, address(this), version, signers, threshold, vrfPublicKey)
        );
    }

    /*//////////////////////////////////////////////////////////////
                        INTERNAL: SIGNATURES
    //////////////////////////////////////////////////////////////*/

    /// @dev At least `threshold` compact signatures of `digest` by members, signers strictly
    ///      ascending. Per signature: one ecrecover, 64 bytes of calldata, and a step of a merge
    ///      walk over the (ascending) members in memory.
    function _checkSignatures(
        bytes32 digest,
        bytes calldata signatures,
        bytes memory members,
        Committee memory committee
    ) private pure {
        uint256 length = signatures.length;
        if (length % _SIGNATURE_LENGTH != 0) revert SignaturesMalformed(length);
        uint256 count = length / _SIGNATURE_LENGTH;
        if (count < committee.threshold) revert NotEnoughSignatures(count, committee.threshold);
        address previous;
        uint256 next; // members below `next` are below every signer still to come
        for (uint256 i; i < count; ++i) {
            bytes32 r;
            bytes32 vs;
            assembly ("memory-safe") {
                // i * 64 + 64 <= length, checked above
                let at := add(signatures.offset, mul(i, 64))
                r := calldataload(at)
                vs := calldataload(add(at, 32))
            }
            address signer = ECDSA.recover(digest, r, vs);
            if (signer <= previous) revert SignaturesNotSorted(i);
            address member;
            while (next < committee.count) {
                member = _memberAt(members, next);
                ++next;
                if (member >= signer) break;
            }
            if (member != signer) revert SignerNotInCommittee(signer);
            previous = signer;
        }
    }

    /*//////////////////////////////////////////////////////////////
                          INTERNAL: HASHING
    //////////////////////////////////////////////////////////////*/

    /// @dev The EIP-712 struct hash of the report (typed data in IReportVerifier).
    function _hashReport(Report calldata report) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                _REPORT_TYPEHASH,
                report.configDigest,
                report.round,
                report.snapshotBlock,
                report.inputsDigest,
                _hashAllocations(report.allocations),
                _hashMoves(report.moves),
                _hashReassignments(report.reassignments)
            )
        );
    }

    /// @dev keccak256 of the concatenated struct hashes of the packed allocations.
    function _hashAllocations(uint256[] calldata entries) private pure returns (bytes32) {
        uint256 count = entries.length;
        bytes32[] memory hashes = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            (uint256 taskId, uint256 nodeId, uint256 units, uint256 price) =
                _unpackAllocation(entries[i]);
            hashes[i] = _hash5(_ALLOCATION_TYPEHASH, taskId, nodeId, units, price);
        }
        return keccak256(abi.encodePacked(hashes));
    }

    /// @dev keccak256 of the concatenated struct hashes of the packed moves.
    function _hashMoves(uint256[] calldata entries) private pure returns (bytes32) {
        uint256 count = entries.length;
        bytes32[] memory hashes = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            (uint256 assignmentId, uint256 toNodeId) = _unpackMove(entries[i]);
            hashes[i] = _hash3(_MOVE_TYPEHASH, assignmentId, toNodeId);
        }
        return keccak256(abi.encodePacked(hashes));
    }

    /// @dev keccak256 of the concatenated struct hashes of the reassignments.
    function _hashReassignments(Reassignment[] calldata entries) private pure returns (bytes32) {
        uint256 count = entries.length;
        bytes32[] memory hashes = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            (uint256 assignmentId, uint256 nodeId) = _unpackReassignment(entries[i].packed);
            (uint256[] memory nodes, uint256[] memory weights) =
                _unpackCandidates(entries[i].candidates);
            hashes[i] = _hash5(
                _REASSIGNMENT_TYPEHASH,
                assignmentId,
                nodeId,
                uint256(keccak256(abi.encodePacked(nodes))),
                uint256(keccak256(abi.encodePacked(weights)))
            );
        }
        return keccak256(abi.encodePacked(hashes));
    }

    /// @dev keccak256(abi.encode(a, b, c)), hashed in scratch memory past the free pointer,
    ///      which stays unallocated, so hashing many entries does not grow memory.
    function _hash3(bytes32 a, uint256 b, uint256 c) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, a)
            mstore(add(m, 0x20), b)
            mstore(add(m, 0x40), c)
            h := keccak256(m, 0x60)
        }
    }

    /// @dev keccak256(abi.encode(a, b, c, d, e)), in scratch memory like `_hash3`.
    function _hash5(bytes32 a, uint256 b, uint256 c, uint256 d, uint256 e)
        private
        pure
        returns (bytes32 h)
    {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, a)
            mstore(add(m, 0x20), b)
            mstore(add(m, 0x40), c)
            mstore(add(m, 0x60), d)
            mstore(add(m, 0x80), e)
            h := keccak256(m, 0xa0)
        }
    }

    /*//////////////////////////////////////////////////////////////
                         INTERNAL: UNPACKING
    //////////////////////////////////////////////////////////////*/

    function _unpackAllocation(uint256 word)
        private
        pure
        returns (uint256 taskId, uint256 nodeId, uint256 units, uint256 price)
    {
        taskId = word >> 192;
        nodeId = uint64(word >> 128);
        units = uint32(word >> 96);
        price = uint96(word);
    }

    function _unpackMove(uint256 word)
        private
        pure
        returns (uint256 assignmentId, uint256 toNodeId)
    {
        assignmentId = uint64(word >> 64);
        toNodeId = uint64(word);
    }

    function _unpackReassignment(uint256 word)
        private
        pure
        returns (uint256 assignmentId, uint256 nodeId)
    {
        assignmentId = uint64(word >> 64);
        nodeId = uint64(word);
    }

    function _unpackCandidates(uint256[] calldata candidates)
        private
        pure
        returns (uint256[] memory nodes, uint256[] memory weights)
    {
        uint256 count = candidates.length;
        nodes = new uint256[](count);
        weights = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            uint256 word = candidates[i];
            nodes[i] = uint64(word >> 32);
            weights[i] = uint32(word);
        }
    }

    /*//////////////////////////////////////////////////////////////
                         INTERNAL: APPLYING
    //////////////////////////////////////////////////////////////*/

    /// @dev Config digest, round, snapshot block and signatures; then consumes the round (before
    ///      any external call: a report applies once). Returns the digest and the VRF key.
    function _verify(Report calldata report, bytes calldata signatures)
        private
        returns (bytes32 reportDigest, bytes memory vrfPublicKey)
    {
        bytes32 configDigest = _configDigest;
        if (report.configDigest != configDigest) {
            revert ConfigDigestMismatch(report.configDigest, configDigest);
        }
        Hot memory hot = _hot;
        // latestRound + 1 <= 2^64 - 1 until 2^64 - 1 reports were accepted: not reachable
        if (report.round != uint256(hot.latestRound) + 1) {
            revert RoundNotNext(report.round, uint256(hot.latestRound) + 1);
        }
        if (report.snapshotBlock < hot.latestSnapshotBlock || report.snapshotBlock >= block.number)
        {
            revert InvalidSnapshotBlock(
                report.snapshotBlock, hot.latestSnapshotBlock, block.number
            );
        }
        reportDigest = _hashTypedDataV4(_hashReport(report));
        Committee memory committee = _committee;
        bytes memory members = _load(committee);
        _checkSignatures(reportDigest, signatures, members, committee);
        _hot = Hot({latestRound: report.round, latestSnapshotBlock: report.snapshotBlock});
        vrfPublicKey = _vrfKey(members, committee.count);
    }

    /// @dev Applies the entries in order; returns how many were skipped.
    function _apply(Report calldata report, bytes memory vrfPublicKey)
        private
        returns (uint256 skipped)
    {
        uint64 round = report.round;
        skipped = _applyAllocations(round, report.allocations);
        uint256 first = report.allocations.length;
        skipped += _applyMoves(round, first, report.moves);
        first += report.moves.length;
        Reassignment[] calldata reassignments = report.reassignments;
        for (uint256 i; i < reassignments.length; ++i) {
            if (!_applyReassignment(round, first + i, reassignments[i], vrfPublicKey)) ++skipped;
        }
    }

    /// @dev Opens one assignment per allocation; returns how many were skipped.
    function _applyAllocations(uint64 round, uint256[] calldata entries)
        private
        returns (uint256 skipped)
    {
        for (uint256 i; i < entries.length; ++i) {
            (uint256 taskId, uint256 nodeId, uint256 units, uint256 price) =
                _unpackAllocation(entries[i]);
            // the new assignment's id is in the market's AssignmentCreated event
            // slither-disable-next-line unused-return
            try _market.assign(taskId, nodeId, units, price) returns (uint256) {}
            catch (bytes memory reason) {
                _skip(round, i, reason);
                ++skipped;
            }
        }
    }

    /// @dev Moves one assignment per entry; entry indexes start at `first`.
    function _applyMoves(uint64 round, uint256 first, uint256[] calldata entries)
        private
        returns (uint256 skipped)
    {
        for (uint256 i; i < entries.length; ++i) {
            (uint256 assignmentId, uint256 toNodeId) = _unpackMove(entries[i]);
            // the new assignment's id is in the market's AssignmentCreated event
            // slither-disable-next-line unused-return
            try _market.move(assignmentId, toNodeId) returns (uint256) {}
            catch (bytes memory reason) {
                _skip(round, first + i, reason);
                ++skipped;
            }
        }
    }

    /// @dev Consumes the entry's draw of the named assignment (TaskMarket.drawReassignment),
    ///      verifies the VRF proof for that draw's alpha (a bad proof reverts the whole
    ///      transmission, and with it the draw), then checks the assignment is Failed, the
    ///      candidates are well formed and weigh their free units on-chain, and the pick from
    ///      beta is the entry's node; then reassigns. Any skip after the draw leaves it consumed,
    ///      so its (now public) beta is never used again. Returns false when skipped.
    function _applyReassignment(
        uint64 round,
        uint256 index,
        Reassignment calldata entry,
        bytes memory vrfPublicKey
    ) private returns (bool) {
        (uint256 failedId, uint256 nodeId) = _unpackReassignment(entry.packed);
        (bool ok, bytes32 beta, uint256 attempt, ITaskMarket.AssignmentStatus status) =
            _draw(round, index, failedId, entry, vrfPublicKey);
        if (!ok) return false;
        if (status != ITaskMarket.AssignmentStatus.Failed) {
            return _skipWith(round, index, ITaskMarket.TaskMarketAssignmentNotFailed.selector);
        }
        bytes4 problem = _checkPick(entry.candidates, nodeId, beta, attempt);
        if (problem != bytes4(0)) return _skipWith(round, index, problem);
        // the new assignment's id is in the market's AssignmentCreated event
        // slither-disable-next-line unused-return
        try _market.reassign(failedId, nodeId) returns (uint256) {
            return true;
        } catch (bytes memory reason) {
            _skip(round, index, reason);
            return false;
        }
    }

    /// @dev Why the entry's node is not the draw's pick (0 when it is): the candidates are
    ///      malformed, a weight differs from the candidate's free units on-chain, or the weighted
    ///      pick from beta chose another node.
    function _checkPick(uint256[] calldata candidates, uint256 nodeId, bytes32 beta, uint256 attempt)
        private
        view
        returns (bytes4)
    {
        (bytes4 problem, uint256[] memory nodes, uint256[] memory weights) = _checkCandidates(candidates);
        if (problem != bytes4(0)) return problem;
        for (uint256 i; i < nodes.length; ++i) {
            if (weights[i] != _registry.freeCapacity(nodes[i])) return CandidateWeightMismatch.selector;
        }
        if (nodes[Sortition.pick(beta, attempt, weights)] != nodeId) return PickMismatch.selector;
        return bytes4(0);
    }

    /// @dev Consumes the next draw of `failedId` and verifies the entry's proof for its alpha
    ///      (reverts with the VRF library's error when it does not verify); (false, ...) after a
    ///      skip when the assignment is unknown.
    function _draw(
        uint64 round,
        uint256 index,
        uint256 failedId,
        Reassignment calldata entry,
        bytes memory vrfPublicKey
    )
        private
        returns (bool ok, bytes32 beta, uint256 attempt, ITaskMarket.AssignmentStatus status)
    {
        try _market.drawReassignment(failedId) returns (
            uint256 taskId, uint256 seed, uint256 attempt_, ITaskMarket.AssignmentStatus status_
        ) {
            // a proof that does not verify reverts here, outside the catch, and with it the
            // whole transmission
            return (true, _verifiedBeta(taskId, seed, attempt_, entry, vrfPublicKey), attempt_, status_);
        } catch (bytes memory reason) {
            _skip(round, index, reason);
            return (false, bytes32(0), 0, ITaskMarket.AssignmentStatus.None);
        }
    }

    /// @dev beta of the entry's proof for alpha(chainid, market, taskId, seed, attempt); reverts
    ///      with the VRF library's error when the proof does not verify.
    function _verifiedBeta(
        uint256 taskId,
        uint256 seed,
        uint256 attempt,
        Reassignment calldata entry,
        bytes memory vrfPublicKey
    ) private view returns (bytes32) {
        // the market's attempts fit 64 bits (draw < 2^32, id < 2^32)
        bytes memory alpha =
            Sortition.vrfAlpha(block.chainid, address(_market), taskId, bytes32(seed), uint64(attempt));
        return VRF.verify(vrfPublicKey, entry.proof, alpha, entry.helpers);
    }

    /// @dev The candidates unpacked, or the reason they cannot be picked from: empty, all
    ///      weights zero, or node ids not strictly ascending.
    function _checkCandidates(uint256[] calldata candidates)
        private
        pure
        returns (bytes4 problem, uint256[] memory nodes, uint256[] memory weights)
    {
        (nodes, weights) = _unpackCandidates(candidates);
        uint256 count = nodes.length;
        if (count == 0) return (SortitionNoCandidates.selector, nodes, weights);
        uint256 total = weights[0];
        for (uint256 i = 1; i < count; ++i) {
            if (nodes[i] <= nodes[i - 1]) return (CandidatesNotSorted.selector, nodes, weights);
            // at most 2^32 weights below 2^32 each: no overflow in practice, checked anyway
            total += weights[i];
        }
        if (total == 0) return (SortitionZeroTotalWeight.selector, nodes, weights);
    }

    /// @dev Emits EntrySkipped with the selector of `reason`; an empty reason means the call ran
    ///      out of gas, which must not consume the report, so the transmission reverts.
    function _skip(uint64 round, uint256 index, bytes memory reason) private {
        if (reason.length == 0) revert EntryRevertedWithoutReason(index);
        emit EntrySkipped(round, index, bytes4(reason));
    }

    function _skipWith(uint64 round, uint256 index, bytes4 reason) private returns (bool) {
        emit EntrySkipped(round, index, reason);
        return false;
    }
}
