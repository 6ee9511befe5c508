// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title VerAITimelock
/// @notice OpenZeppelin's TimelockController, put in front of the contracts' admin on live
///         networks by the deploy script: every admin action (parameters, roles, committee
///         changes, admin transfers) is proposed, waits `minDelay`, then is executed, in public.
/// @dev No separate admin (address(0)): the timelock administers itself, so changing its
///      proposers or its delay goes through the delay too.
contract VerAITimelock is TimelockController {
    /// @param minDelay seconds between a proposal and its execution
    /// @param proposers accounts that propose and cancel (a multisig)
    /// @param executors accounts that execute ready proposals (address(0) alone: anyone)
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors)
        TimelockController(minDelay, proposers, executors, address(0))
    {}
}
