// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ITokenReceiver} from "./CallbackVerToken.sol";

/// @notice The handler side of a re-entry attempt (see HandlerBase).
interface IReentryHook {
    /// @notice The call to replay into the paying contract, once; empty when none is armed.
    function takeReentry() external returns (bytes memory data);

    /// @notice Records whether the replayed call was accepted.
    function reentryDone(bool accepted) external;
}

/// @title ReentrantReceiver
/// @notice Runtime code etched onto the actors' addresses in the callback-token suites: when the
///         actor receives VER in the middle of a payout, it replays the call the handler armed
///         (e.g. the same `withdraw`) into the paying contract, as the actor, and reports whether
///         the contract accepted it. A contract that updates its state before paying refuses.
contract ReentrantReceiver is ITokenReceiver {
    IReentryHook private immutable _hook;

    constructor(IReentryHook hook) {
        _hook = hook;
    }

    function onTokenTransfer(address operator, address, uint256) external {
        bytes memory data = _hook.takeReentry();
        if (data.length == 0) return;
        (bool accepted,) = operator.call(data);
        _hook.reentryDone(accepted);
    }
}
