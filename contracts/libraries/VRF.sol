// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IVRFErrors, VRFHelpers} from "../interfaces/IVRFVerifier.sol";

/// @title VRF
/// @notice Verifies ECVRF-SECP256K1-SHA256-TAI proofs (suite byte 0xFE, draft-05 rules, 81-byte
///         proofs; the suite of witnet vrf-rs / vrf-solidity and vechain go-ecvrf) with helper
///         values computed by the prover (`oracle.vrf.verifier_inputs`).
/// @dev No elliptic-curve multiplication and no square root happens here:
///      - every scalar product is checked with the `ecrecover` trick: ecrecover(m, v, r, σ)
///        returns the address of r⁻¹·(σ·R − m·G) where R is the point with x = r and y parity v;
///        so U = s·B − c·Y is ecrecover(−s·Yx, v_Y, Yx, −c·Yx), s·H is ecrecover(0, 27, Hx, s·Hx)
///        and c·Γ is ecrecover(0, v_Γ, Γx, c·Γx); each is compared with the address
///        (keccak256(x ‖ y)) of the helper coordinates;
///      - V = s·H − c·Γ is one affine addition with the slope `lambda` checked by one mulmod;
///      - hash to curve is flat in the try-and-increment counter: each rejected try costs one
///        SHA-256 and, when x < p, a witness w with w² ≡ −(x³ + 7), i.e. proof that x³ + 7 is a
///        non-square (−1 is a non-square because p ≡ 3 mod 4); the accepted try needs no
///        witness, since `ecrecover` decompresses H itself and fails when x is not on the curve.
///      Coordinates x ≥ n of Y, Γ or H cannot be passed to ecrecover and are rejected
///      (probability about 2^-127 for honest keys and proofs).
library VRF {
    /// @dev secp256k1 field prime p.
    uint256 internal constant P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;
    /// @dev secp256k1 group order n.
    uint256 internal constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    /// @dev Length of a SEC1 compressed point.
    uint256 internal constant POINT_LENGTH = 33;
    /// @dev Length of a proof: Γ (33) ‖ c (16) ‖ s (32).
    uint256 internal constant PROOF_LENGTH = 81;
    /// @dev The try-and-increment counter is one byte.
    uint256 internal constant MAX_TRIES = 255;

    // ------------------------------------------------------------------ internal

    /// @notice Verifies `proof` for `alpha` under `publicKey` and returns beta.
    /// @dev Reverts with an IVRFErrors error naming the failed check.
    /// @param publicKey 33-byte SEC1 compressed public key Y
    /// @param proof 81 bytes: Γ (compressed) ‖ c (16 bytes) ‖ s (32 bytes)
    /// @param alpha the VRF input
    /// @param helpers the prover's helper values (U, s·H, c·Γ, slope, non-residue witnesses)
    /// @return beta SHA256(0xFE ‖ 0x03 ‖ Γ)
    function verify(
        bytes memory publicKey,
        bytes calldata proof,
        bytes memory alpha,
        VRFHelpers calldata helpers
    ) internal view returns (bytes32 beta) {
        _checkEncoding(publicKey, proof);
        uint256 hX = _hashToCurve(publicKey, alpha, helpers.witnesses);
        _checkU(publicKey, proof, helpers.u);
        _checkSH(hX, proof, helpers.sH, helpers.witnesses.length);
        _checkCGamma(proof, helpers.cGamma);
        (uint256 vX, uint256 vY) = _computeV(helpers.sH, helpers.cGamma, helpers.lambda);
        _checkChallenge(hX, proof, helpers.u, vX, vY);
        return proofToHash(proof);
    }

    /// @notice beta = SHA256(0xFE ‖ 0x03 ‖ Γ) of an 81-byte proof (decoded, not verified).
    /// @dev Reverts with VRFInvalidProofLength or VRFInvalidGammaPrefix.
    function proofToHash(bytes calldata proof) internal view returns (bytes32 beta) {
        if (proof.length != PROOF_LENGTH) revert IVRFErrors.VRFInvalidProofLength(proof.length);
        uint8 prefix = uint8(proof[0]);
        if (prefix != 2 && prefix != 3) revert IVRFErrors.VRFInvalidGammaPrefix(prefix);
        assembly ("memory-safe") {
            // 0xFE ‖ 0x03 ‖ Γ (35 bytes) in free memory, which stays unallocated
            let m := mload(0x40)
            mstore(m, shl(240, 0xfe03))
            calldatacopy(add(m, 2), proof.offset, 33)
            // sha256 only fails when out of gas
            if iszero(staticcall(gas(), 0x02, m, 35, 0x00, 0x20)) { revert(0, 0) }
            beta := mload(0x00)
        }
    }

    // ------------------------------------------------------------------ private: decoding

    /// @dev Lengths, prefixes, the scalar's range and the x coordinates ecrecover can take.
    function _checkEncoding(bytes memory publicKey, bytes calldata proof) private pure {
        if (publicKey.length != POINT_LENGTH) {
            revert IVRFErrors.VRFInvalidPublicKeyLength(publicKey.length);
        }
        uint8 yPrefix = uint8(publicKey[0]);
        if (yPrefix != 2 && yPrefix != 3) revert IVRFErrors.VRFInvalidPublicKeyPrefix(yPrefix);
        if (proof.length != PROOF_LENGTH) revert IVRFErrors.VRFInvalidProofLength(proof.length);
        uint8 gammaPrefix = uint8(proof[0]);
        if (gammaPrefix != 2 && gammaPrefix != 3) {
            revert IVRFErrors.VRFInvalidGammaPrefix(gammaPrefix);
        }
        uint256 s = _scalar(proof);
        if (s == 0 || s >= N) revert IVRFErrors.VRFScalarOutOfRange(s);
        uint256 yX = _pointX(publicKey);
        if (yX >= N) revert IVRFErrors.VRFUnsupportedCoordinate(yX);
        uint256 gammaX = _gammaX(proof);
        if (gammaX >= N) revert IVRFErrors.VRFUnsupportedCoordinate(gammaX);
    }

    /// @dev x coordinate of a 33-byte compressed point in memory (length checked by the caller).
    function _pointX(bytes memory point) private pure returns (uint256 x) {
        assembly ("memory-safe") {
            x := mload(add(point, 33))
        }
    }

    /// @dev ecrecover's v (27 even y, 28 odd y) of a compressed point whose prefix was checked.
    function _keyV(bytes memory point) private pure returns (uint8) {
        return uint8(point[0]) + 25;
    }

    function _gammaX(bytes calldata proof) private pure returns (uint256) {
        return uint256(bytes32(proof[1:33]));
    }

    function _gammaV(bytes calldata proof) private pure returns (uint8) {
        return uint8(proof[0]) + 25;
    }

    function _challengeOf(bytes calldata proof) private pure returns (uint256) {
        return uint128(bytes16(proof[33:49]));
    }

    function _scalar(bytes calldata proof) private pure returns (uint256) {
        return uint256(bytes32(proof[49:81]));
    }

    // ------------------------------------------------------------------ private: hash to curve

    /// @dev x coordinate of H: the hash of the try numbered witnesses.length, after checking
    ///      that every earlier try missed the curve.
    function _hashToCurve(bytes memory publicKey, bytes memory alpha, uint256[] calldata witnesses)
        private
        view
        returns (uint256 x)
    {
        uint256 tries = witnesses.length;
        if (tries > MAX_TRIES) revert IVRFErrors.VRFTooManyTries(tries);
        bytes memory buffer = abi.encodePacked(uint16(0xfe01), publicKey, alpha, uint8(0));
        uint256 counterAt;
        assembly ("memory-safe") {
            counterAt := add(add(buffer, 31), mload(buffer))
        }
        for (uint256 j; j < tries; ++j) {
            assembly ("memory-safe") {
                mstore8(counterAt, j)
            }
            x = _sha256(buffer);
            if (x < P) {
                uint256 w = witnesses[j];
                // x³ + 7 ≢ 0 for every x (no point of order 2), so P − (x³ + 7) < P
                if (mulmod(w, w, P) != P - addmod(mulmod(mulmod(x, x, P), x, P), 7, P)) {
                    // j ≤ 254 here (tries ≤ 255)
                    revert IVRFErrors.VRFInvalidNonResidueWitness(uint8(j), w);
                }
            }
        }
        assembly ("memory-safe") {
            mstore8(counterAt, tries)
        }
        x = _sha256(buffer);
        if (x >= P) revert IVRFErrors.VRFHashPointNotOnCurve(uint8(tries), x);
        if (x >= N) revert IVRFErrors.VRFUnsupportedCoordinate(x);
    }

    function _sha256(bytes memory data) private view returns (uint256 digest) {
        assembly ("memory-safe") {
            // sha256 only fails when out of gas
            if iszero(staticcall(gas(), 0x02, add(data, 32), mload(data), 0x00, 0x20)) {
                revert(0, 0)
            }
            digest := mload(0x00)
        }
    }

    // ------------------------------------------------------------------ private: scalar products

    /// @dev U = s·B − c·Y = ecrecover(−s·Yx, v_Y, Yx, −c·Yx) must be the helper U.
    function _checkU(bytes memory publicKey, bytes calldata proof, uint256[2] calldata u)
        private
        pure
    {
        uint256 yX = _pointX(publicKey);
        address recovered = ecrecover(
            bytes32(mulmod(N - _scalar(proof), yX, N)),
            _keyV(publicKey),
            bytes32(yX),
            bytes32(mulmod(N - _challengeOf(proof), yX, N))
        );
        if (recovered == address(0)) revert IVRFErrors.VRFUndefinedU(yX);
        address supplied = _addressOf(u);
        if (recovered != supplied) revert IVRFErrors.VRFInvalidUHelper(recovered, supplied);
    }

    /// @dev s·H = ecrecover(0, 27, Hx, s·Hx) must be the helper sH; a failed recovery means
    ///      Hx is not on the curve (s ≠ 0 and Hx < n were checked before).
    function _checkSH(uint256 hX, bytes calldata proof, uint256[2] calldata sH, uint256 tries)
        private
        pure
    {
        address recovered = ecrecover(0, 27, bytes32(hX), bytes32(mulmod(_scalar(proof), hX, N)));
        // tries ≤ 255 was checked in _hashToCurve
        if (recovered == address(0)) revert IVRFErrors.VRFHashPointNotOnCurve(uint8(tries), hX);
        address supplied = _addressOf(sH);
        if (recovered != supplied) revert IVRFErrors.VRFInvalidSHHelper(recovered, supplied);
    }

    /// @dev c·Γ = ecrecover(0, v_Γ, Γx, c·Γx) must be the helper cGamma; a failed recovery means
    ///      Γ is not on the curve (c ≠ 0, else U failed, and Γx < n were checked before).
    function _checkCGamma(bytes calldata proof, uint256[2] calldata cGamma) private pure {
        uint256 gammaX = _gammaX(proof);
        address recovered = ecrecover(
            0, _gammaV(proof), bytes32(gammaX), bytes32(mulmod(_challengeOf(proof), gammaX, N))
        );
        if (recovered == address(0)) revert IVRFErrors.VRFGammaNotOnCurve(gammaX);
        address supplied = _addressOf(cGamma);
        if (recovered != supplied) revert IVRFErrors.VRFInvalidCGammaHelper(recovered, supplied);
    }

    /// @dev The Ethereum address of an affine point: the last 20 bytes of keccak256(x ‖ y).
    function _addressOf(uint256[2] calldata point) private pure returns (address a) {
        assembly ("memory-safe") {
            calldatacopy(0x00, point, 0x40)
            a := and(keccak256(0x00, 0x40), 0xffffffffffffffffffffffffffffffffffffffff)
        }
    }

    // ------------------------------------------------------------------ private: V and challenge

    /// @dev V = s·H + (−c·Γ) by the affine addition rule with the supplied slope. sH and cGamma
    ///      are canonical coordinates (< p): their addresses matched ecrecover's.
    function _computeV(uint256[2] calldata sH, uint256[2] calldata cGamma, uint256 lambda)
        private
        pure
        returns (uint256 x, uint256 y)
    {
        uint256 x1 = sH[0];
        uint256 x2 = cGamma[0];
        if (x1 == x2) revert IVRFErrors.VRFDegenerateV(x1);
        // −c·Γ = (x2, −y2): the slope is (y1 + y2) / (x1 − x2)
        if (mulmod(lambda, addmod(x1, P - x2, P), P) != addmod(sH[1], cGamma[1], P)) {
            revert IVRFErrors.VRFInvalidLambda(lambda);
        }
        x = addmod(mulmod(lambda, lambda, P), P - addmod(x1, x2, P), P);
        y = addmod(mulmod(lambda, addmod(x1, P - x, P), P), P - sH[1], P);
    }

    /// @dev c must equal the first 16 bytes of SHA256(0xFE ‖ 0x02 ‖ H ‖ Γ ‖ U ‖ V).
    function _checkChallenge(
        uint256 hX,
        bytes calldata proof,
        uint256[2] calldata u,
        uint256 vX,
        uint256 vY
    ) private view {
        bytes32 digest;
        assembly ("memory-safe") {
            // 134 bytes in free memory (left unallocated): fe 02 | 02 Hx | Γ | U | V, each point
            // SEC1 compressed; every mstore lands after the bytes already written.
            let m := mload(0x40)
            mstore(m, shl(232, 0xfe0202))
            mstore(add(m, 3), hX)
            calldatacopy(add(m, 35), proof.offset, 33)
            mstore8(add(m, 68), add(2, and(calldataload(add(u, 0x20)), 1)))
            mstore(add(m, 69), calldataload(u))
            mstore8(add(m, 101), add(2, and(vY, 1)))
            mstore(add(m, 102), vX)
            // sha256 only fails when out of gas
            if iszero(staticcall(gas(), 0x02, m, 134, 0x00, 0x20)) { revert(0, 0) }
            digest := mload(0x00)
        }
        bytes16 given = bytes16(proof[33:49]);
        if (bytes16(digest) != given) revert IVRFErrors.VRFChallengeMismatch(given, bytes16(digest));
    }
}
