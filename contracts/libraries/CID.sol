// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title CID
/// @notice Parses and builds the binary CIDs that checkpoints are recorded under: CIDv1 with the
///         raw (0x55) or dag-pb (0x70) codec and a sha2-256 multihash, i.e. exactly the 36 bytes
///         `0x01 ‖ codec ‖ 0x12 ‖ 0x20 ‖ digest`. Those are the CIDs `ipfs add --cid-version=1`
///         gives (raw for content ≤ 256 KiB, dag-pb above); `oracle.cid` computes them off-chain.
/// @dev Valid input takes one comparison of the 4-byte header. Anything else is decoded field by
///      field (unsigned varints, as multiformats defines them) only to revert with the first field
///      that is wrong, in the order version, codec, hash function, digest length, total length;
///      `oracle.cid.parse_cid_bytes` applies the same order and reports the same field.
library CID {
    // ------------------------------------------------------------------ errors

    /// @notice Thrown when the CID version is not 1. A bare sha2-256 multihash (first bytes
    ///         0x12 0x20, i.e. a CIDv0) reports version 0.
    error CidVersionUnsupported(uint256 version);

    /// @notice Thrown when the codec is neither raw (0x55) nor dag-pb (0x70).
    error CidCodecUnsupported(uint256 codec);

    /// @notice Thrown when the multihash function is not sha2-256 (0x12).
    error CidHashUnsupported(uint256 code);

    /// @notice Thrown when the multihash digest length is not 32.
    error CidDigestLengthInvalid(uint256 length);

    /// @notice Thrown when the CID is not 36 bytes long (or ends inside a varint).
    error CidLengthInvalid(uint256 length);

    /// @notice Thrown when the varint starting at `offset` is not minimally encoded or is longer
    ///         than 9 bytes.
    error CidVarintInvalid(uint256 offset);

    // ------------------------------------------------------------------ constants

    /// @dev Multicodec of raw blocks (content ≤ 256 KiB).
    uint256 internal constant CODEC_RAW = 0x55;
    /// @dev Multicodec of dag-pb blocks (the UnixFS root of larger content).
    uint256 internal constant CODEC_DAG_PB = 0x70;
    /// @dev Multihash function code of sha2-256.
    uint256 internal constant SHA2_256 = 0x12;
    /// @dev sha2-256 digest length.
    uint256 internal constant DIGEST_LENGTH = 32;
    /// @dev Length of every accepted CID.
    uint256 internal constant LENGTH = 36;

    /// @dev The two accepted 4-byte headers: version 1, codec, sha2-256, 32-byte digest.
    uint256 private constant _HEADER_RAW = 0x01551220;
    uint256 private constant _HEADER_DAG_PB = 0x01701220;
    /// @dev An unsigned varint of at most 63 bits takes at most 9 bytes.
    uint256 private constant _MAX_VARINT_BYTES = 9;

    // ------------------------------------------------------------------ internal

    /// @notice Parses a binary CID into its codec and sha2-256 digest.
    /// @dev Reverts with the error naming the first wrong field (see the errors above).
    /// @param cid the binary CID (36 bytes when valid)
    /// @return codec CODEC_RAW or CODEC_DAG_PB
    /// @return digest the sha2-256 digest
    function parse(bytes calldata cid) internal pure returns (uint256 codec, bytes32 digest) {
        if (cid.length == LENGTH) {
            uint256 header;
            assembly ("memory-safe") {
                // The first 4 bytes are the header, the next 32 the digest (length checked above).
                header := shr(224, calldataload(cid.offset))
                digest := calldataload(add(cid.offset, 4))
            }
            if (header == _HEADER_RAW) return (CODEC_RAW, digest);
            if (header == _HEADER_DAG_PB) return (CODEC_DAG_PB, digest);
        }
        _revertInvalid(cid);
    }

    /// @notice Builds the binary CID of a codec and sha2-256 digest (the inverse of `parse`).
    /// @param codec CODEC_RAW or CODEC_DAG_PB; anything else reverts with CidCodecUnsupported
    /// @param digest the sha2-256 digest
    /// @return cid the 36-byte CIDv1
    function encode(uint256 codec, bytes32 digest) internal pure returns (bytes memory cid) {
        if (codec != CODEC_RAW && codec != CODEC_DAG_PB) revert CidCodecUnsupported(codec);
        return abi.encodePacked(uint8(1), uint8(codec), uint8(SHA2_256), uint8(DIGEST_LENGTH), digest);
    }

    // ------------------------------------------------------------------ private

    /// @dev Decodes the fields of an input that failed the fast path and reverts with the first
    ///      wrong one. If every field is a valid one-byte varint the header matched, so only the
    ///      total length can be wrong.
    function _revertInvalid(bytes calldata cid) private pure {
        if (cid.length >= 2 && uint8(cid[0]) == SHA2_256 && uint8(cid[1]) == DIGEST_LENGTH) {
            revert CidVersionUnsupported(0);
        }
        (uint256 version, uint256 offset) = _varint(cid, 0);
        if (version != 1) revert CidVersionUnsupported(version);
        uint256 codec;
        (codec, offset) = _varint(cid, offset);
        if (codec != CODEC_RAW && codec != CODEC_DAG_PB) revert CidCodecUnsupported(codec);
        uint256 code;
        (code, offset) = _varint(cid, offset);
        if (code != SHA2_256) revert CidHashUnsupported(code);
        uint256 length;
        (length, offset) = _varint(cid, offset);
        if (length != DIGEST_LENGTH) revert CidDigestLengthInvalid(length);
        revert CidLengthInvalid(cid.length);
    }

    /// @dev Reads the unsigned varint starting at `offset`; returns its value and the next offset.
    function _varint(bytes calldata cid, uint256 offset) private pure returns (uint256 value, uint256 next) {
        for (uint256 i; i < _MAX_VARINT_BYTES; ++i) {
            if (offset + i >= cid.length) revert CidLengthInvalid(cid.length);
            uint256 b = uint8(cid[offset + i]);
            value |= (b & 0x7f) << (7 * i);
            if (b < 0x80) {
                // A last byte of zero after the first adds nothing: not the minimal encoding.
                if (b == 0 && i > 0) revert CidVarintInvalid(offset);
                return (value, offset + i + 1);
            }
        }
        revert CidVarintInvalid(offset);
    }
}
