// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {INodeRegistry} from "../../../contracts/interfaces/INodeRegistry.sol";
import {Clock} from "../utils/Clock.sol";
import {VerAIDeployment} from "../utils/VerAIDeployment.sol";
import {CallbackVerToken} from "../utils/CallbackVerToken.sol";
import {ReentrantReceiver} from "../utils/ReentrantReceiver.sol";
import {NodeRegistryHandler} from "./handlers/NodeRegistryHandler.sol";

/// @title NodeRegistryInvariants
/// @notice Random sequences of register / heartbeat / price and capacity updates / addStake /
///         exit / withdraw / reportFailure (suspicion, then failure after the grace) / reserve /
///         release / claimCompensation (per unit) / donations / governance changes / pause /
///         time warps across five contributors; after every call the registry must agree with
///         the handler's independent model. Run twice: with VER as deployed, and with a token
///         that calls the receiver back (re-entry attempts).
abstract contract NodeRegistryInvariants is VerAIDeployment {
    Clock internal clock;
    NodeRegistryHandler internal handler;

    /// @dev Runs once the handler exists (the callback suite turns the actors into contracts).
    function _afterHandlerDeployed() internal virtual {}

    function setUp() public {
        clock = new Clock(START_TIME);
        _deployToken();
        _deployRegistry();

        bytes32[] memory classes = new bytes32[](2);
        uint256[] memory minStakes = new uint256[](2);
        uint256[] memory wattLimits = new uint256[](2);
        (classes[0], minStakes[0], wattLimits[0]) = (CLASS_GPU, GPU_MIN_STAKE, GPU_WATT_LIMIT);
        (classes[1], minStakes[1], wattLimits[1]) = (CLASS_CPU, CPU_MIN_STAKE, 0);
        handler = new NodeRegistryHandler(
            clock, ver, registry, classes, minStakes, wattLimits, _registryParameters(), admin
        );

        vm.startPrank(admin);
        ver.grantRole(ver.MINTER_ROLE(), address(handler));
        registry.grantRole(registry.MARKET_ROLE(), address(handler));
        registry.grantRole(registry.PAUSER_ROLE(), admin);
        vm.stopPrank();
        _afterHandlerDeployed();

        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](17);
        selectors[0] = NodeRegistryHandler.register.selector;
        selectors[1] = NodeRegistryHandler.heartbeat.selector;
        selectors[2] = NodeRegistryHandler.updatePrice.selector;
        selectors[3] = NodeRegistryHandler.updateCapacity.selector;
        selectors[4] = NodeRegistryHandler.addStake.selector;
        selectors[5] = NodeRegistryHandler.requestExit.selector;
        selectors[6] = NodeRegistryHandler.withdraw.selector;
        selectors[7] = NodeRegistryHandler.reportFailure.selector;
        selectors[8] = NodeRegistryHandler.reserve.selector;
        selectors[9] = NodeRegistryHandler.release.selector;
        selectors[10] = NodeRegistryHandler.claimCompensation.selector;
        selectors[11] = NodeRegistryHandler.donate.selector;
        selectors[12] = NodeRegistryHandler.setParameters.selector;
        selectors[13] = handler.warp.selector;
        // heartbeats twice as likely: they are what keeps nodes alive against the timeout
        selectors[14] = NodeRegistryHandler.heartbeat.selector;
        selectors[15] = NodeRegistryHandler.togglePause.selector;
        selectors[16] = NodeRegistryHandler.declareRenewableShare.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// @notice VER held by the registry == stakes held + compensation held (+ plain transfers,
    ///         which it must not count), by the registry's own totals and by the model's.
    function invariant_verHeldEqualsStakesPlusCompensation() public view {
        (uint256 stakes, uint256 compensation) = registry.totalHeld();
        uint256 balance = ver.balanceOf(address(registry));
        assertEq(balance, stakes + compensation + handler.ghostDonated(), "balance vs totalHeld");
        assertEq(stakes, handler.ghostTotalStake(), "totalHeld stakes vs model");
        assertEq(compensation, handler.ghostTotalCompensation(), "totalHeld compensation vs model");
        assertEq(
            balance,
            handler.ghostVerIn() + handler.ghostDonated() - handler.ghostVerOut(),
            "balance vs VER flows"
        );
        assertEq(handler.ghostPayoutMismatches(), 0, "a payout differed from the model");
        assertEq(handler.ghostRuleBreaks(), 0, "a failed node's units left without compensation");
        assertEq(handler.ghostReentriesAccepted(), 0, "a payout was re-entered");
    }

    /// @notice VER's supply is exactly what was minted less what the registry burned: no slash is
    ///         lost or created.
    function invariant_supplyIsMintedLessBurned() public view {
        assertEq(ver.totalSupply(), handler.ghostMinted() - handler.ghostBurned(), "supply vs mints - burns");
        assertEq(registry.paused(), handler.ghostPaused(), "paused vs model");
    }

    /// @notice A failed node holds exactly its reserved units x the per-unit compensation fixed at
    ///         its failure; every other node holds none; a live suspicion is the model's.
    function invariant_failedNodeHoldsReservedTimesPerUnit() public view {
        uint256[] memory ids = handler.nodeIds();
        for (uint256 i = 0; i < ids.length; ++i) {
            INodeRegistry.NodeView memory node = registry.getNode(ids[i]);
            uint256 perUnit = registry.compensationPerUnit(ids[i]);
            assertEq(perUnit, handler.ghostPerUnit(ids[i]), "per-unit compensation vs model");
            assertEq(registry.compensationHeld(ids[i]), uint256(node.reserved) * perUnit, "held vs reserved x perUnit");
            (address reporter, uint256 suspectedAt, uint256 failableAt) = registry.suspicionOf(ids[i]);
            if (handler.ghostSuspectedAt(ids[i]) > handler.ghostLastBeat(ids[i])) {
                assertEq(reporter, handler.ghostSuspecter(ids[i]), "suspicion reporter vs model");
                assertEq(suspectedAt, handler.ghostSuspectedAt(ids[i]), "suspicion time vs model");
                assertEq(failableAt, handler.ghostFailableAt(ids[i]), "suspicion grace vs model");
            } else {
                assertEq(suspectedAt, 0, "a suspicion the model voided");
            }
        }
    }

    /// @notice Energy (issue 13): every node's energy, counter and declared renewable share are
    ///         the model's; every class's totals are exactly the sums over its nodes, as
    ///         modelled; the network's are the sums over the classes.
    function invariant_energyTotalsAreTheSumsOverNodes() public view {
        uint256[] memory ids = handler.nodeIds();
        bytes32[] memory modelled = handler.classes();
        uint256[] memory sums = new uint256[](modelled.length);
        for (uint256 i = 0; i < ids.length; ++i) {
            (uint256 energy, uint256 counter, bool measured, uint256 renewable) = registry.energyOf(ids[i]);
            assertEq(energy, handler.ghostEnergy(ids[i]), "node energy vs model");
            assertEq(counter, handler.ghostCounter(ids[i]), "node counter vs model");
            assertEq(measured, counter != 0, "measured flag vs counter");
            assertEq(renewable, handler.ghostRenewable(ids[i]), "renewable share vs model");
            for (uint256 k = 0; k < modelled.length; ++k) {
                if (handler.ghostClass(ids[i]) == modelled[k]) sums[k] += energy;
            }
        }
        (uint256 total, uint256 measuredTotal, bytes32[] memory classes, uint256[] memory classEnergy, uint256[] memory classMeasured) =
            registry.energyTotals();
        uint256 energySum;
        uint256 measuredSum;
        for (uint256 c = 0; c < classes.length; ++c) {
            for (uint256 k = 0; k < modelled.length; ++k) {
                if (classes[c] != modelled[k]) continue;
                assertEq(classEnergy[c], sums[k], "class energy vs the sum over its nodes");
                assertEq(classEnergy[c], handler.ghostClassEnergy(classes[c]), "class energy vs model");
                assertEq(classMeasured[c], handler.ghostClassMeasured(classes[c]), "class measured vs model");
            }
            assertLe(classMeasured[c], classEnergy[c], "measured above the total");
            energySum += classEnergy[c];
            measuredSum += classMeasured[c];
        }
        assertEq(total, energySum, "network energy vs the sum over classes");
        assertEq(measuredTotal, measuredSum, "network measured vs the sum over classes");
    }

    /// @notice Per node: stake and compensation equal the model, and they add up to totalHeld.
    function invariant_perNodeAccountingAddsUp() public view {
        uint256[] memory ids = handler.nodeIds();
        uint256 stakeSum;
        uint256 compensationSum;
        for (uint256 i = 0; i < ids.length; ++i) {
            INodeRegistry.NodeView memory node = registry.getNode(ids[i]);
            uint256 compensation = registry.compensationHeld(ids[i]);
            assertEq(node.stake, handler.ghostStake(ids[i]), "node stake vs model");
            assertEq(compensation, handler.ghostCompensation(ids[i]), "node compensation vs model");
            stakeSum += node.stake;
            compensationSum += compensation;
        }
        (uint256 stakes, uint256 compensationTotal) = registry.totalHeld();
        assertEq(stakeSum, stakes, "sum of node stakes vs totalHeld");
        assertEq(compensationSum, compensationTotal, "sum of node compensation vs totalHeld");
        assertEq(registry.nodeCount(), ids.length, "nodeCount vs registrations");
    }

    /// @notice A node reported Failed stays Failed: no heartbeat, exit or withdraw revives it.
    function invariant_failedNodeNeverReturns() public view {
        uint256[] memory ids = handler.nodeIds();
        for (uint256 i = 0; i < ids.length; ++i) {
            if (handler.ghostEverFailed(ids[i])) {
                assertEq(
                    uint8(registry.getNode(ids[i]).status),
                    uint8(INodeRegistry.Status.Failed),
                    "a failed node left Failed"
                );
            }
        }
    }

    /// @notice Every node's status is the one the life-cycle rules give for the accepted actions.
    function invariant_statusFollowsLifeCycle() public view {
        uint256[] memory ids = handler.nodeIds();
        for (uint256 i = 0; i < ids.length; ++i) {
            assertEq(
                uint8(registry.getNode(ids[i]).status),
                uint8(handler.ghostStatus(ids[i])),
                "status vs life-cycle model"
            );
        }
    }

    /// @notice reserved <= capacity for every node, free == capacity - reserved, both as modelled.
    function invariant_reservedWithinCapacity() public view {
        uint256[] memory ids = handler.nodeIds();
        for (uint256 i = 0; i < ids.length; ++i) {
            INodeRegistry.NodeView memory node = registry.getNode(ids[i]);
            assertLe(node.reserved, node.capacity, "reserved above capacity");
            assertEq(registry.freeCapacity(ids[i]), node.capacity - node.reserved, "free capacity");
            assertEq(node.reserved, handler.ghostReserved(ids[i]), "reserved vs model");
            assertEq(node.capacity, handler.ghostCapacity(ids[i]), "capacity vs model");
        }
    }

    /// @notice nodeOf(owner, class) names exactly the owner's one node that is still live
    ///         (Active, Throttled or Exiting); Failed and Exited nodes free the slot.
    function invariant_liveNodeIndexConsistent() public view {
        uint256[] memory ids = handler.nodeIds();
        for (uint256 i = 0; i < ids.length; ++i) {
            INodeRegistry.NodeView memory node = registry.getNode(ids[i]);
            bool live = node.status == INodeRegistry.Status.Active
                || node.status == INodeRegistry.Status.Throttled
                || node.status == INodeRegistry.Status.Exiting;
            uint256 listed = registry.nodeOf(node.owner, handler.ghostClass(ids[i]));
            if (live) assertEq(listed, ids[i], "live node missing from nodeOf");
            else assertTrue(listed != ids[i], "dead node still in nodeOf");
        }
    }
}

/// @title NodeRegistryInvariantTest
/// @notice The invariants with VER exactly as deployed.
contract NodeRegistryInvariantTest is NodeRegistryInvariants {}

/// forge-config: default.invariant.runs = 128
/// forge-config: long.invariant.runs = 1280
/// @title NodeRegistryCallbackTokenInvariantTest
/// @notice The invariants with a token that calls contract receivers back, and contributors that
///         are contracts replaying withdraw / reportFailure from inside the payout: no state may
///         be read stale by a re-entrant call.
contract NodeRegistryCallbackTokenInvariantTest is NodeRegistryInvariants {
    function _deployToken() internal override {
        ver = new CallbackVerToken(admin);
    }

    function _afterHandlerDeployed() internal override {
        bytes memory code = address(new ReentrantReceiver(handler)).code;
        address[] memory actors = handler.actors();
        for (uint256 i = 0; i < actors.length; ++i) {
            vm.etch(actors[i], code);
        }
    }

    /// @notice The re-entry machinery really fires (else the suite would prove nothing): every
    ///         accepted withdraw paid an actor, so it replayed one call from inside the transfer.
    function afterInvariant() public view {
        assertGe(handler.ghostReentriesAttempted(), handler.calls("withdraw"), "re-entry not tried");
    }
}
