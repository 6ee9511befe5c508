// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Sortition} from "../../../contracts/libraries/Sortition.sol";
import {ISortitionErrors} from "../../../contracts/interfaces/IVRFVerifier.sol";
import {VerAITest} from "../utils/VerAITest.sol";

/// @title SortitionSymbolicTest
/// @notice halmos proofs (`make halmos`) of the weighted pick for every beta, attempt and weight
///         vector of 1 to 4 candidates (weights below 2^32, zeros included): the index is in
///         range, never lands on a weight-0 candidate, and equals a reference cumulative walk.
/// @dev Weights are bounded so the solver's `mod Σw` stays tractable; the walk itself does not
///      depend on their size.
contract SortitionSymbolicTest is VerAITest {
    SortitionCaller internal caller;

    function setUp() public {
        caller = new SortitionCaller();
    }

    /// @dev The reference: r = keccak256(beta ‖ attempt) mod Σw, then the first index whose
    ///      running sum of weights exceeds r.
    function _referenceWalk(bytes32 beta, uint256 attempt, uint256[] memory weights)
        internal
        pure
        returns (uint256)
    {
        uint256 total;
        for (uint256 i = 0; i < weights.length; ++i) {
            total += weights[i];
        }
        uint256 r = uint256(keccak256(abi.encodePacked(beta, attempt))) % total;
        uint256 running;
        for (uint256 i = 0; i < weights.length; ++i) {
            running += weights[i];
            if (r < running) return i;
        }
        return type(uint256).max; // never reached: r < total
    }

    function _check(bytes32 beta, uint256 attempt, uint256[] memory weights) internal view {
        uint256 total;
        for (uint256 i = 0; i < weights.length; ++i) {
            total += weights[i];
        }
        try caller.pick(beta, attempt, weights) returns (uint256 index) {
            assert(total != 0);
            assert(index < weights.length);
            assert(weights[index] != 0);
            assert(index == _referenceWalk(beta, attempt, weights));
        } catch (bytes memory reason) {
            // only an all-zero list may be refused (the empty list has its own check)
            assert(total == 0);
            assert(bytes4(reason) == ISortitionErrors.SortitionZeroTotalWeight.selector);
        }
    }

    function check_pick_oneCandidate(bytes32 beta, uint256 attempt, uint32 w0) public view {
        uint256[] memory w = new uint256[](1);
        w[0] = w0;
        _check(beta, attempt, w);
    }

    function check_pick_twoCandidates(bytes32 beta, uint256 attempt, uint32 w0, uint32 w1)
        public
        view
    {
        uint256[] memory w = new uint256[](2);
        (w[0], w[1]) = (w0, w1);
        _check(beta, attempt, w);
    }

    function check_pick_threeCandidates(
        bytes32 beta,
        uint256 attempt,
        uint32 w0,
        uint32 w1,
        uint32 w2
    ) public view {
        uint256[] memory w = new uint256[](3);
        (w[0], w[1], w[2]) = (w0, w1, w2);
        _check(beta, attempt, w);
    }

    function check_pick_fourCandidates(
        bytes32 beta,
        uint256 attempt,
        uint32 w0,
        uint32 w1,
        uint32 w2,
        uint32 w3
    ) public view {
        uint256[] memory w = new uint256[](4);
        (w[0], w[1], w[2], w[3]) = (w0, w1, w2, w3);
        _check(beta, attempt, w);
    }

    function check_pick_revertsOnEmptyList(bytes32 beta, uint256 attempt) public view {
        try caller.pick(beta, attempt, new uint256[](0)) returns (uint256) {
            assert(false);
        } catch (bytes memory reason) {
            assert(bytes4(reason) == ISortitionErrors.SortitionNoCandidates.selector);
        }
    }
}

/// @dev Calls the internal library function externally, so its reverts can be caught.
contract SortitionCaller {
    function pick(bytes32 beta, uint256 attempt, uint256[] memory weights)
        external
        pure
        returns (uint256)
    {
        return Sortition.pick(beta, attempt, weights);
    }
}
