// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Vm} from "forge-std/Vm.sol";

/// @title Clock
/// @notice One notion of "now" shared by every invariant handler. forge does not promise that a
///         `vm.warp` made in one handler call is still in effect in the next one, so handlers
///         advance this clock and re-apply it (`sync`) at the start of every action.
contract Clock {
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @notice The current timestamp of the run.
    uint256 public timestamp;

    constructor(uint256 start) {
        timestamp = start;
        VM.warp(start);
    }

    /// @notice Applies the shared time to the EVM.
    function sync() external {
        VM.warp(timestamp);
    }

    /// @notice Moves time forward by `seconds_` and applies it.
    function advance(uint256 seconds_) external {
        timestamp += seconds_;
        VM.warp(timestamp);
    }
}
