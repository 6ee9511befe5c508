// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {CID} from "../../../contracts/libraries/CID.sol";
import {CIDExposed} from "../utils/CIDExposed.sol";
import {VerAITest} from "../utils/VerAITest.sol";

/// @title CIDFuzzTest
/// @notice Fuzzed bytes never parse unless they are a CIDv1 with a sha2-256 multihash of 32
///         bytes and the raw or dag-pb codec, 36 bytes in all; every rejection is one of CID's own
///         errors (never a panic or an empty revert), naming the first wrong field.
contract CIDFuzzTest is VerAITest {
    CIDExposed internal cid;

    function setUp() public {
        cid = new CIDExposed();
    }

    /// @dev The acceptance rule, written from the spec (multiformats CIDv1 + multihash).
    function _isValid(bytes memory b) internal pure returns (bool) {
        return b.length == 36 && uint8(b[0]) == 0x01 && (uint8(b[1]) == 0x55 || uint8(b[1]) == 0x70)
            && uint8(b[2]) == 0x12 && uint8(b[3]) == 0x20;
    }

    function _isCidError(bytes memory reason) internal pure returns (bool) {
        if (reason.length < 4) return false;
        bytes4 selector = bytes4(reason);
        return selector == CID.CidVersionUnsupported.selector
            || selector == CID.CidCodecUnsupported.selector
            || selector == CID.CidHashUnsupported.selector
            || selector == CID.CidDigestLengthInvalid.selector
            || selector == CID.CidLengthInvalid.selector || selector == CID.CidVarintInvalid.selector;
    }

    function _valid(bool dagPb, bytes32 digest) internal pure returns (bytes memory) {
        return abi.encodePacked(uint8(0x01), dagPb ? uint8(0x70) : uint8(0x55), uint8(0x12), uint8(0x20), digest);
    }

    /// @dev Parses `b` and checks the outcome against the rule: accepted exactly when valid, the
    ///      codec and digest read back from the right bytes, rejected only with a CID error.
    function _checkAgainstRule(bytes memory b) internal view {
        try cid.parse(b) returns (uint256 codec, bytes32 digest) {
            assertTrue(_isValid(b), "parsed an invalid CID");
            assertEq(codec, uint8(b[1]), "codec");
            bytes32 expected;
            assembly ("memory-safe") {
                expected := mload(add(b, 36))
            }
            assertEq(digest, expected, "digest");
        } catch (bytes memory reason) {
            assertFalse(_isValid(b), "rejected a valid CID");
            assertTrue(_isCidError(reason), "rejected without a CID error");
        }
    }

    function testFuzz_parse_acceptsOnlyValidCidsForAnyBytes(bytes calldata b) public view {
        _checkAgainstRule(b);
    }

    function testFuzz_parse_acceptsOnlyTheTwoHeadersForAny36Bytes(bytes4 header, bytes32 digest)
        public
        view
    {
        _checkAgainstRule(abi.encodePacked(header, digest));
    }

    function testFuzz_parse_roundTripsEncodeForBothCodecs(bool dagPb, bytes32 digest) public view {
        uint256 codec = dagPb ? CID.CODEC_DAG_PB : CID.CODEC_RAW;
        bytes memory encoded = cid.encode(codec, digest);
        assertEq(encoded, _valid(dagPb, digest), "encode layout");
        (uint256 parsedCodec, bytes32 parsedDigest) = cid.parse(encoded);
        assertEq(parsedCodec, codec, "codec");
        assertEq(parsedDigest, digest, "digest");
    }

    function testFuzz_encode_revertsForOtherCodecs(uint256 codec, bytes32 digest) public {
        vm.assume(codec != CID.CODEC_RAW && codec != CID.CODEC_DAG_PB);
        vm.expectRevert(abi.encodeWithSelector(CID.CidCodecUnsupported.selector, codec));
        cid.encode(codec, digest);
    }

    function testFuzz_parse_revertsWithLengthForTruncatedOrExtendedCid(
        bool dagPb,
        bytes32 digest,
        uint256 length,
        bytes32 tail
    ) public {
        length = bound(length, 0, 68);
        vm.assume(length != 36);
        bytes memory full = abi.encodePacked(_valid(dagPb, digest), tail);
        bytes memory b = new bytes(length);
        for (uint256 i = 0; i < length; ++i) {
            b[i] = full[i];
        }
        vm.expectRevert(abi.encodeWithSelector(CID.CidLengthInvalid.selector, length));
        cid.parse(b);
    }

    function testFuzz_parse_namesTheFirstWrongHeaderField(
        bool dagPb,
        bytes32 digest,
        uint256 field,
        uint8 value
    ) public {
        field = bound(field, 0, 3);
        value = uint8(bound(value, 0, 0x7f)); // a one-byte varint
        bytes memory b = _valid(dagPb, digest);
        vm.assume(uint8(b[field]) != value);
        b[field] = bytes1(value);
        if (field == 1 && (value == 0x55 || value == 0x70)) {
            // the other accepted codec: still a valid CID
            (uint256 codec,) = cid.parse(b);
            assertEq(codec, value, "codec");
            return;
        }
        bytes4[4] memory errors = [
            CID.CidVersionUnsupported.selector,
            CID.CidCodecUnsupported.selector,
            CID.CidHashUnsupported.selector,
            CID.CidDigestLengthInvalid.selector
        ];
        vm.expectRevert(abi.encodeWithSelector(errors[field], uint256(value)));
        cid.parse(b);
    }

    function testFuzz_parse_reportsVersionZeroForCidV0(bytes32 digest) public {
        vm.expectRevert(abi.encodeWithSelector(CID.CidVersionUnsupported.selector, 0));
        cid.parse(abi.encodePacked(uint8(0x12), uint8(0x20), digest));
    }
}
