// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ISortitionErrors} from "../interfaces/IVRFVerifier.sol";

/// @title Sortition
/// @notice The VRF input of an assignment attempt and the weighted pick over the candidates, the
///         same in Solidity and in the oracle (`oracle.sortition`).
library Sortition {
    /// @notice The VRF input alpha of assignment attempt `attempt` of task `taskId`:
    ///         abi.encode(uint256 chainId, address market, uint256 taskId, bytes32 seed,
    ///         uint64 attempt), 160 bytes. A reassignment's attempt is draw << 32 | the failed
    ///         assignment's id, draw = the number of draws of it already published
    ///         (TaskMarket.drawsOf), so no published draw is ever drawn again.
    function vrfAlpha(uint256 chainId, address market, uint256 taskId, bytes32 seed, uint64 attempt)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encode(chainId, market, taskId, seed, attempt);
    }

    /// @notice The index chosen among `weights` (the canonical, sorted candidate list) for VRF
    ///         output `beta` and attempt `attempt`: r = uint256(keccak256(beta ‖ uint256 attempt))
    ///         mod Σw, then the first index whose cumulative weight exceeds r. An entry of weight
    ///         zero is never chosen.
    /// @dev Reverts with SortitionNoCandidates for an empty list, SortitionZeroTotalWeight when
    ///      every weight is zero, and panics (0x11) when Σw overflows uint256.
    function pick(bytes32 beta, uint256 attempt, uint256[] memory weights)
        internal
        pure
        returns (uint256 index)
    {
        uint256 count = weights.length;
        if (count == 0) revert ISortitionErrors.SortitionNoCandidates();
        uint256 total = 0;
        for (uint256 i; i < count; ++i) {
            total += weights[i];
        }
        if (total == 0) revert ISortitionErrors.SortitionZeroTotalWeight(count);
        uint256 r = uint256(keccak256(abi.encodePacked(beta, attempt))) % total;
        // r < total, so the walk stops at an index < count with a non-zero weight
        while (true) {
            uint256 w = weights[index];
            if (r < w) return index;
            // cannot underflow: r ≥ w here
            unchecked {
                r -= w;
                ++index;
            }
        }
    }
}
