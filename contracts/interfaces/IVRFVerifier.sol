// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Helper values that let the on-chain verifier check an ECVRF proof cheaply. The prover
///         computes them (`oracle.vrf.verifier_inputs`); none of them is trusted: each is checked.
/// @dev All coordinates are affine secp256k1 coordinates modulo p.
struct VRFHelpers {
    // U = s·B − c·Y (x, y), checked against ecrecover
    uint256[2] u;
    // s·H (x, y), checked against ecrecover
    uint256[2] sH;
    // c·Γ (x, y), checked against ecrecover
    uint256[2] cGamma;
    // slope of the line through s·H and −c·Γ: lambda·(sH.x − cGamma.x) ≡ sH.y + cGamma.y (mod p);
    // gives V = s·H − c·Γ without a modular inverse
    uint256 lambda;
    // one per rejected try-and-increment try j, so the length is the counter of the accepted try:
    // w_j with w_j² ≡ −(x_j³ + 7) (mod p), which proves x_j³ + 7 is not a square (−1 is not a
    // square since p ≡ 3 mod 4); ignored (0 by convention) when x_j ≥ p
    uint256[] witnesses;
}

/// @title IVRFErrors
/// @notice The checks of the ECVRF verifier (`contracts/libraries/VRF.sol`), one error each.
/// @dev Suite ECVRF-SECP256K1-SHA256-TAI (suite byte 0xFE, draft-05 rules). A contract that calls
///      `VRF.verify` inherits this interface so that the errors appear in its ABI.
interface IVRFErrors {
    /// @notice Thrown when the public key is not 33 bytes (SEC1 compressed).
    error VRFInvalidPublicKeyLength(uint256 length);

    /// @notice Thrown when the public key's first byte is neither 0x02 nor 0x03.
    error VRFInvalidPublicKeyPrefix(uint8 prefix);

    /// @notice Thrown when the proof is not 81 bytes (Γ 33 ‖ c 16 ‖ s 32).
    error VRFInvalidProofLength(uint256 length);

    /// @notice Thrown when Γ's first byte is neither 0x02 nor 0x03.
    error VRFInvalidGammaPrefix(uint8 prefix);

    /// @notice Thrown when the proof's scalar s is 0 or not below the group order n.
    error VRFScalarOutOfRange(uint256 s);

    /// @notice Thrown when the x coordinate of the public key, Γ or H is ≥ n: `ecrecover` takes
    ///         r < n only (an honest key or proof hits this with probability about 2^-127).
    error VRFUnsupportedCoordinate(uint256 x);

    /// @notice Thrown when more than 255 rejected tries are claimed (the counter is one byte).
    error VRFTooManyTries(uint256 tries);

    /// @notice Thrown when the witness of rejected try `ctr` does not show that x³ + 7 is a
    ///         non-square, i.e. w² ≢ −(x³ + 7) (mod p): the try may have hit the curve.
    error VRFInvalidNonResidueWitness(uint8 ctr, uint256 witness);

    /// @notice Thrown when the hash of the claimed accepted try `ctr` is not the x coordinate of
    ///         a curve point (so an earlier or a later counter is the real one).
    error VRFHashPointNotOnCurve(uint8 ctr, uint256 x);

    /// @notice Thrown when U = s·B − c·Y cannot be formed: the public key is not on the curve,
    ///         c is zero, or U is the point at infinity.
    error VRFUndefinedU(uint256 publicKeyX);

    /// @notice Thrown when Γ is not a point on the curve.
    error VRFGammaNotOnCurve(uint256 gammaX);

    /// @notice Thrown when the helper U is not s·B − c·Y (`recovered` is the address of the true
    ///         point, `supplied` the address of the helper coordinates).
    error VRFInvalidUHelper(address recovered, address supplied);

    /// @notice Thrown when the helper sH is not s·H.
    error VRFInvalidSHHelper(address recovered, address supplied);

    /// @notice Thrown when the helper cGamma is not c·Γ.
    error VRFInvalidCGammaHelper(address recovered, address supplied);

    /// @notice Thrown when s·H and c·Γ share their x coordinate (V would be the point at
    ///         infinity or a doubling; no honest proof does this).
    error VRFDegenerateV(uint256 x);

    /// @notice Thrown when lambda is not the slope through s·H and −c·Γ.
    error VRFInvalidLambda(uint256 lambda);

    /// @notice Thrown when the proof's challenge c differs from the one recomputed over
    ///         (H, Γ, U, V): the proof is not valid for this public key and alpha.
    error VRFChallengeMismatch(bytes16 given, bytes16 computed);
}

/// @title ISortitionErrors
/// @notice The errors of the weighted pick (`contracts/libraries/Sortition.sol`).
interface ISortitionErrors {
    /// @notice Thrown when the candidate list is empty.
    error SortitionNoCandidates();

    /// @notice Thrown when every one of the `candidates` weights is zero.
    error SortitionZeroTotalWeight(uint256 candidates);
}

/// @title IVRFVerifier
/// @notice Verifies ECVRF-SECP256K1-SHA256-TAI proofs (suite 0xFE, draft-05; 81-byte proofs, as
///         witnet vrf-rs / vrf-solidity and vechain go-ecvrf) and computes the VRF-based weighted
///         pick used to assign tasks, exactly as the oracle does (`oracle.vrf`, `oracle.sortition`).
interface IVRFVerifier is IVRFErrors, ISortitionErrors {
    /// @notice Emitted by `verifyAndRecord` when a proof verified.
    /// @param publicKeyHash keccak256 of the 33-byte public key
    /// @param alphaHash keccak256 of alpha
    /// @param beta the VRF output
    event ProofVerified(bytes32 indexed publicKeyHash, bytes32 indexed alphaHash, bytes32 beta);

    /// @notice Verifies `proof` for `alpha` under `publicKey` and returns the VRF output beta.
    /// @dev Reverts with one of the IVRFErrors naming the failed check.
    /// @param publicKey 33-byte SEC1 compressed secp256k1 public key Y
    /// @param proof 81 bytes: Γ (compressed) ‖ c (16 bytes) ‖ s (32 bytes)
    /// @param alpha the VRF input
    /// @param helpers the prover's helper values (see VRFHelpers)
    /// @return beta SHA256(0xFE ‖ 0x03 ‖ Γ)
    function verify(
        bytes calldata publicKey,
        bytes calldata proof,
        bytes calldata alpha,
        VRFHelpers calldata helpers
    ) external view returns (bytes32 beta);

    /// @notice Same as `verify`, and emits ProofVerified (a transaction: its receipt shows the gas
    ///         a contract pays to verify a proof carried in calldata).
    /// @return beta the VRF output
    function verifyAndRecord(
        bytes calldata publicKey,
        bytes calldata proof,
        bytes calldata alpha,
        VRFHelpers calldata helpers
    ) external returns (bytes32 beta);

    /// @notice beta of a proof without verifying it (the proof is only decoded).
    /// @return beta SHA256(0xFE ‖ 0x03 ‖ Γ)
    function proofToHash(bytes calldata proof) external view returns (bytes32 beta);

    /// @notice The VRF input of assignment attempt `attempt` of task `taskId`:
    ///         abi.encode(chainId, market, taskId, seed, attempt); a reassignment's attempt is
    ///         draw << 32 | failed assignment id (TaskMarket.drawReassignment).
    function vrfAlpha(uint256 chainId, address market, uint256 taskId, bytes32 seed, uint64 attempt)
        external
        pure
        returns (bytes memory);

    /// @notice The index chosen by the weighted pick: r = uint256(keccak256(beta ‖ attempt)) mod Σw,
    ///         then the first index whose cumulative weight exceeds r (weight-0 entries never win).
    /// @dev Reverts with SortitionNoCandidates or SortitionZeroTotalWeight.
    function pick(bytes32 beta, uint256 attempt, uint256[] calldata weights)
        external
        pure
        returns (uint256 index);
}
