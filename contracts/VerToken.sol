// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";

/// @title VerToken ($VER)
/// @notice The unit of account of the VerAI network: stakes, prices and escrow are in VER wei.
/// @dev ERC-20 with ERC-2612 permit so that a node can stake and a developer can escrow in one
///      transaction; burnable (the NodeRegistry burns part of every slash); the supply is capped
///      at MAX_SUPPLY, below what the contracts' packed 96-bit amounts hold (2^96 wei = 79 billion
///      VER), so no stake, escrow or total can overflow its field. Minting is limited to
///      MINTER_ROLE (a faucet on testnets, nothing on mainnet). The admin is transferred in two
///      steps; its delay starts at 0 and the deploy script raises it (`changeDefaultAdminDelay`).
contract VerToken is ERC20, ERC20Burnable, ERC20Capped, ERC20Permit, AccessControlDefaultAdminRules {
    /// @notice The role allowed to mint new VER.
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @notice The most VER that can ever exist: 10 billion.
    uint256 public constant MAX_SUPPLY = 10_000_000_000e18;

    /// @param admin receives DEFAULT_ADMIN_ROLE and MINTER_ROLE
    constructor(address admin)
        ERC20("VerAI", "VER")
        ERC20Capped(MAX_SUPPLY)
        ERC20Permit("VerAI")
        AccessControlDefaultAdminRules(0, admin)
    {
        _grantRole(MINTER_ROLE, admin);
    }

    /// @notice Mints `amount` VER wei to `to`.
    /// @dev Reverts with AccessControlUnauthorizedAccount when the caller lacks MINTER_ROLE and
    ///      ERC20ExceededCap beyond MAX_SUPPLY.
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }

    /// @dev ERC20Capped checks the cap on every mint.
    function _update(address from, address to, uint256 value) internal virtual override(ERC20, ERC20Capped) {
        super._update(from, to, value);
    }
}
