// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IReportVerifier} from "../../../../contracts/interfaces/IReportVerifier.sol";
import {ReportVerifier} from "../../../../contracts/ReportVerifier.sol";
import {Clock} from "../../utils/Clock.sol";
import {HandlerBase} from "./HandlerBase.sol";

/// @title ReportVerifierHandler
/// @notice Governance actions on the ReportVerifier with a model of their effect: the energy
///         weight of the oracle's energy-aware mode (issue 13), set by the admin or attempted by
///         anyone else, with any value. The model says what the weight must be after each call.
contract ReportVerifierHandler is HandlerBase {
    ReportVerifier public immutable verifier;
    address public immutable admin;

    /// @notice The weight the verifier must hold (the last accepted admin value).
    uint256 public ghostEnergyWeight;
    /// @notice Calls that should have been refused and were not (must stay 0).
    uint256 public ghostWronglyAccepted;
    /// @notice Calls that should have been accepted and were not (must stay 0).
    uint256 public ghostWronglyRefused;

    constructor(Clock clock_, ReportVerifier verifier_, address admin_)
        HandlerBase(clock_, "verifier-actor", 3)
    {
        verifier = verifier_;
        admin = admin_;
    }

    /// @notice The admin sets the weight: mostly in range (a third of the calls go anywhere in
    ///         uint256, past the maximum).
    function setEnergyWeightAsAdmin(uint256 value, uint256 mode) external synced {
        uint256 maximum = verifier.MAX_ENERGY_WEIGHT();
        if (mode % 3 != 0) value = bound(value, 0, maximum);
        vm.prank(admin);
        try verifier.setEnergyWeight(value) {
            if (value > maximum) ++ghostWronglyAccepted;
            else ghostEnergyWeight = value;
            ++calls["setEnergyWeight"];
        } catch (bytes memory reason) {
            bool expected = value > maximum
                && bytes4(reason) == IReportVerifier.ReportVerifierParameterOutOfRange.selector;
            if (!expected) ++ghostWronglyRefused;
            ++calls["setEnergyWeight refused"];
        }
    }

    /// @notice Someone without the admin role tries to set the weight: always refused.
    function setEnergyWeightAsStranger(uint256 actor, uint256 value) external synced {
        address caller = _actors[actor % _actors.length];
        vm.prank(caller);
        try verifier.setEnergyWeight(value) {
            ++ghostWronglyAccepted;
        } catch {
            ++calls["stranger refused"];
        }
    }
}
