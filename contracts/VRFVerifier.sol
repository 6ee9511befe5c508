// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IVRFVerifier, VRFHelpers} from "./interfaces/IVRFVerifier.sol";
import {VRF} from "./libraries/VRF.sol";
import {Sortition} from "./libraries/Sortition.sol";

/// @title VRFVerifier
/// @notice A stateless front end to the VRF and Sortition libraries: anyone can check an oracle's
///         ECVRF proof and recompute the weighted pick it leads to.
contract VRFVerifier is IVRFVerifier {
    /// @inheritdoc IVRFVerifier
    function verify(
        bytes calldata publicKey,
        bytes calldata proof,
        bytes calldata alpha,
        VRFHelpers calldata helpers
    ) external view returns (bytes32 beta) {
        return VRF.verify(publicKey, proof, alpha, helpers);
    }

    /// @inheritdoc IVRFVerifier
    function verifyAndRecord(
        bytes calldata publicKey,
        bytes calldata proof,
        bytes calldata alpha,
        VRFHelpers calldata helpers
    ) external returns (bytes32 beta) {
        beta = VRF.verify(publicKey, proof, alpha, helpers);
        emit ProofVerified(keccak256(publicKey), keccak256(alpha), beta);
    }

    /// @inheritdoc IVRFVerifier
    function proofToHash(bytes calldata proof) external view returns (bytes32 beta) {
        return VRF.proofToHash(proof);
    }

    /// @inheritdoc IVRFVerifier
    function vrfAlpha(uint256 chainId, address market, uint256 taskId, bytes32 seed, uint64 attempt)
        external
        pure
        returns (bytes memory)
    {
        return Sortition.vrfAlpha(chainId, market, taskId, seed, attempt);
    }

    /// @inheritdoc IVRFVerifier
    function pick(bytes32 beta, uint256 attempt, uint256[] calldata weights)
        external
        pure
        returns (uint256 index)
    {
        return Sortition.pick(beta, attempt, weights);
    }
}
