// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReportVerifier} from "../../../contracts/ReportVerifier.sol";
import {TaskMarket} from "../../../contracts/TaskMarket.sol";
import {ITaskMarket} from "../../../contracts/interfaces/ITaskMarket.sol";
import {Clock} from "../utils/Clock.sol";
import {VerAIDeployment} from "../utils/VerAIDeployment.sol";
import {ReportVerifierHandler} from "./handlers/ReportVerifierHandler.sol";

/// @title ReportVerifierInvariants
/// @notice Random sequences of the verifier's governance actions (the energy weight, by the
///         admin with any value and by strangers) and time warps: the weight is always the last
///         value the admin set within [0, MAX_ENERGY_WEIGHT], nothing else ever changes it, and
///         the committee config is untouched.
contract ReportVerifierInvariants is VerAIDeployment {
    Clock internal clock;
    ReportVerifierHandler internal handler;
    ReportVerifier internal verifier;
    bytes32 internal digest;

    function setUp() public {
        clock = new Clock(START_TIME);
        _deployToken();
        _deployRegistry();
        TaskMarket market = new TaskMarket(IERC20(address(ver)), registry);
        address[] memory signers = new address[](3);
        signers[0] = address(0x1001);
        signers[1] = address(0x1002);
        signers[2] = address(0x1003);
        // the secp256k1 generator, compressed: a valid point for the config's key
        bytes memory key = hex"0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
        verifier = new ReportVerifier(ITaskMarket(address(market)), admin, ADMIN_DELAY, signers, 2, key);
        (digest,,,,) = verifier.config();
        handler = new ReportVerifierHandler(clock, verifier, admin);
        bytes4[] memory selectors = new bytes4[](3);
        selectors[0] = ReportVerifierHandler.setEnergyWeightAsAdmin.selector;
        selectors[1] = ReportVerifierHandler.setEnergyWeightAsStranger.selector;
        selectors[2] = handler.warp.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    function invariant_energyWeightIsTheLastAdminValueInRange() public view {
        assertEq(verifier.energyWeight(), handler.ghostEnergyWeight(), "weight differs from the model");
        assertLe(verifier.energyWeight(), verifier.MAX_ENERGY_WEIGHT(), "weight above the maximum");
        assertEq(handler.ghostWronglyAccepted(), 0, "a refused call was accepted");
        assertEq(handler.ghostWronglyRefused(), 0, "an admin call in range was refused");
    }

    function invariant_committeeUntouched() public view {
        (bytes32 now_,,,,) = verifier.config();
        assertEq(now_, digest, "the config changed");
    }
}
