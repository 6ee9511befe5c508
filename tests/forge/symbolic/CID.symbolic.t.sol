// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {CID} from "../../../contracts/libraries/CID.sol";
import {CIDExposed} from "../utils/CIDExposed.sol";
import {VerAITest} from "../utils/VerAITest.sol";

/// @title CIDSymbolicTest
/// @notice halmos proofs (`make halmos`) over all inputs of the given lengths: CID.parse accepts
///         exactly CIDv1 + raw/dag-pb + sha2-256 + 32-byte digest, 36 bytes, and rejects
///         everything else with one of its own errors.
/// @dev `check_` functions are run by halmos only; forge test ignores them.
contract CIDSymbolicTest is VerAITest {
    CIDExposed internal cid;

    function setUp() public {
        cid = new CIDExposed();
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

    /// @notice Every 36-byte input: accepted iff the header is 01 55 12 20 or 01 70 12 20, and
    ///         then the codec and digest are read back unchanged.
    function check_parse_acceptsExactlyTheTwoHeaders(bytes4 header, bytes32 digest) public view {
        bool valid = header == bytes4(0x01551220) || header == bytes4(0x01701220);
        try cid.parse(abi.encodePacked(header, digest)) returns (uint256 codec, bytes32 parsed) {
            assert(valid);
            assert(codec == uint8(header[1]));
            assert(parsed == digest);
        } catch (bytes memory reason) {
            assert(!valid);
            assert(_isCidError(reason));
        }
    }

    /// @notice Inputs of any other length (0-4, 33-35, 37, 68 bytes: see the Makefile's
    ///         --array-lengths) never parse, whatever they hold, and fail with a CID error.
    function check_parse_rejectsEveryOtherLength(bytes calldata b) public view {
        assert(b.length != 36);
        try cid.parse(b) returns (uint256, bytes32) {
            assert(false);
        } catch (bytes memory reason) {
            assert(_isCidError(reason));
        }
    }
}
