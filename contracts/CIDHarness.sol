// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {CID} from "./libraries/CID.sol";

/// @title CIDHarness
/// @notice Test-only: exposes the internal functions of the CID library as external calls.
/// @dev Never deployed by scripts/deploy.py.
contract CIDHarness {
    /// @notice See `CID.parse`.
    /// @param cid the binary CID
    /// @return codec 0x55 (raw) or 0x70 (dag-pb)
    /// @return digest the sha2-256 digest
    function parse(bytes calldata cid) external pure returns (uint256 codec, bytes32 digest) {
        return CID.parse(cid);
    }

    /// @notice See `CID.encode`.
    /// @param codec 0x55 (raw) or 0x70 (dag-pb)
    /// @param digest the sha2-256 digest
    /// @return cid the 36-byte binary CIDv1
    function encode(uint256 codec, bytes32 digest) external pure returns (bytes memory cid) {
        return CID.encode(codec, digest);
    }
}
