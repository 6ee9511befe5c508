// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {CID} from "../../../contracts/libraries/CID.sol";

/// @title CIDExposed
/// @notice Calls CID.parse on real calldata (the library takes `bytes calldata`), for the fuzz and
///         symbolic tests.
contract CIDExposed {
    function parse(bytes calldata cid) external pure returns (uint256 codec, bytes32 digest) {
        return CID.parse(cid);
    }

    function encode(uint256 codec, bytes32 digest) external pure returns (bytes memory) {
        return CID.encode(codec, digest);
    }
}
