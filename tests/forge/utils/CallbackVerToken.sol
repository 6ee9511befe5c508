// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {VerToken} from "../../../contracts/VerToken.sol";

/// @notice What CallbackVerToken calls on a contract that receives tokens.
interface ITokenReceiver {
    /// @param operator the account that moved the tokens (the registry, for its payouts)
    function onTokenTransfer(address operator, address from, uint256 value) external;
}

/// @title CallbackVerToken
/// @notice VER plus an ERC-777/ERC-1363-style hook: after every transfer to a contract, the
///         receiver is called back. The production token has no hook; this one lets the invariant
///         suites check that no payout path can be re-entered (a contract that takes any IERC20
///         must not rely on the token being inert). The hook's own failure is ignored, so a
///         refused re-entry never blocks the transfer.
contract CallbackVerToken is VerToken {
    constructor(address admin) VerToken(admin) {}

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (from != address(0) && to.code.length != 0) {
            try ITokenReceiver(to).onTokenTransfer(msg.sender, from, value) {} catch {}
        }
    }
}
