// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IVerToken
/// @notice What the NodeRegistry needs of $VER beyond ERC-20: burning the part of a slash that
///         nobody may recover.
interface IVerToken is IERC20 {
    /// @notice Destroys `value` of the caller's tokens (OpenZeppelin ERC20Burnable).
    function burn(uint256 value) external;
}
