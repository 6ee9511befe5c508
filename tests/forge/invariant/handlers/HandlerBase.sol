// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {Clock} from "../../utils/Clock.sol";
import {IReentryHook} from "../../utils/ReentrantReceiver.sol";

/// @title HandlerBase
/// @notice What every invariant handler shares: the run's clock, a fixed set of actors (with
///         private keys, for permits), and a `warp` action. A handler for a new contract inherits
///         this, adds one function per user action, and keeps ghost variables that the invariant
///         suite compares with the contract's own view.
///         Payout actions may arm a re-entry (`_armReentry`): in the callback-token suites the
///         paid actor replays that call from inside the transfer, and every replay the paying
///         contract accepts is counted in `ghostReentriesAccepted`, which must stay 0.
///         Invariant suites must list the fuzzed selectors (targetSelector) so that the fuzzer
///         never calls the hook functions below directly.
abstract contract HandlerBase is CommonBase, StdCheats, StdUtils, IReentryHook {
    /// @notice Time steps of `warp`: mostly short (heartbeats race the timeout), one in four long
    ///         enough to pass any timeout or unbonding period.
    uint256 internal constant SHORT_WARP = 15 minutes;
    uint256 internal constant LONG_WARP = 2 days;

    Clock public immutable clock;

    address[] internal _actors;
    mapping(address actor => uint256 privateKey) internal _keys;

    /// @notice Calls of each action that changed state (forge's metrics table counts every call).
    mapping(bytes32 action => uint256 count) public calls;

    /// @notice Re-entrant replays the paying contract accepted (must stay 0).
    uint256 public ghostReentriesAccepted;
    /// @notice Re-entrant replays attempted (shows the callback suites really tried).
    uint256 public ghostReentriesAttempted;
    bytes private _reentry;

    constructor(Clock clock_, string memory actorPrefix, uint256 actorCount) {
        clock = clock_;
        for (uint256 i = 0; i < actorCount; ++i) {
            (address actor, uint256 key) =
                makeAddrAndKey(string.concat(actorPrefix, "-", vm.toString(i)));
            _actors.push(actor);
            _keys[actor] = key;
        }
    }

    /// @dev Every action runs at the shared time.
    modifier synced() {
        clock.sync();
        _;
    }

    /// @notice Lets time pass (heartbeats expire, unbonding ends).
    function warp(uint256 seconds_) external synced {
        uint256 limit = seconds_ % 4 == 0 ? LONG_WARP : SHORT_WARP;
        clock.advance(bound(seconds_ >> 2, 1, limit));
        ++calls["warp"];
    }

    /// @notice The actors of this handler.
    function actors() external view returns (address[] memory) {
        return _actors;
    }

    /// @inheritdoc IReentryHook
    function takeReentry() external returns (bytes memory data) {
        data = _reentry;
        delete _reentry;
    }

    /// @inheritdoc IReentryHook
    function reentryDone(bool accepted) external {
        ++ghostReentriesAttempted;
        if (accepted) ++ghostReentriesAccepted;
    }

    function _actor(uint256 seed) internal view returns (address) {
        return _actors[seed % _actors.length];
    }

    /// @dev Arms one replay of `data` for the next payout to an actor that is a contract.
    function _armReentry(bytes memory data) internal {
        _reentry = data;
    }

    function _disarmReentry() internal {
        delete _reentry;
    }
}
