// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title VerToken ($VER)
/// @notice The unit of account of the VerAI network: stakes, prices and escrow are in VER wei.
/// @dev ERC-20 with ERC-2612 permit so that a node can stake and a developer can escrow in one
///      transaction. Minting is limited to MINTER_ROLE (a faucet on testnets, nothing on mainnet).
contract VerToken is ERC20, ERC20Permit, AccessControl {
    /// @notice The role allowed to mint new VER.
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @param admin receives DEFAULT_ADMIN_ROLE and MINTER_ROLE
    constructor(address admin) ERC20("VerAI", "VER") ERC20Permit("VerAI") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MINTER_ROLE, admin);
    }

    /// @notice Mints `amount` VER wei to `to`.
    /// @dev Reverts with AccessControlUnauthorizedAccount when the caller lacks MINTER_ROLE.
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }
}
