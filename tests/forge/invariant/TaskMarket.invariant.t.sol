// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {TaskMarket} from "../../../contracts/TaskMarket.sol";
import {INodeRegistry} from "../../../contracts/interfaces/INodeRegistry.sol";
import {ITaskMarket} from "../../../contracts/interfaces/ITaskMarket.sol";
import {Clock} from "../utils/Clock.sol";
import {VerAIDeployment} from "../utils/VerAIDeployment.sol";
import {CallbackVerToken} from "../utils/CallbackVerToken.sol";
import {ReentrantReceiver} from "../utils/ReentrantReceiver.sol";
import {TaskMarketHandler} from "./handlers/TaskMarketHandler.sol";
import {TaskMarketNodeHandler} from "./handlers/TaskMarketNodeHandler.sol";

/// @title TaskMarketInvariants
/// @notice Random sequences of submit / topUp / cancel (also right before a final checkpoint) /
///         claimRefund / claimCompensation by three developers; register / heartbeat /
///         requestExit / withdraw of stake / checkpoint commit / complete / withdraw / crashes by
///         three contributors (nodes of two classes); assign (at the ask, or off it) / move /
///         reassign / VRF draws / pause by the allocator; reportFailure (suspicion, then failure)
///         / settleNodeFailure in pages and any order / settle by anyone; time warps. After every
///         call the market, its checkpoints and the NodeRegistry it holds MARKET_ROLE on must
///         agree with the handler's model. Run with VER as deployed and with a token that calls
///         the receiver back (re-entry attempts).
/// @dev The market is deployed here (with the registry from VerAIDeployment) rather than in
///      VerAIDeployment, whose registry suite keeps MARKET_ROLE for its own handler.
abstract contract TaskMarketInvariants is VerAIDeployment {
    uint256 internal constant HOUR = 3600;

    Clock internal clock;
    TaskMarket internal market;
    TaskMarketHandler internal handler;
    TaskMarketNodeHandler internal nodeHandler;

    /// @dev Runs once the handler exists (the callback suite turns the actors into contracts).
    function _afterHandlerDeployed() internal virtual {}

    function setUp() public {
        clock = new Clock(START_TIME);
        _deployToken();
        _deployRegistry();
        market = new TaskMarket(IERC20(address(ver)), registry);

        bytes32[] memory classes = new bytes32[](2);
        uint256[] memory minStakes = new uint256[](2);
        (classes[0], minStakes[0]) = (CLASS_GPU, GPU_MIN_STAKE);
        (classes[1], minStakes[1]) = (CLASS_CPU, CPU_MIN_STAKE);
        handler = new TaskMarketHandler(clock, ver, registry, market, classes);
        nodeHandler = new TaskMarketNodeHandler(clock, ver, registry, handler, classes, minStakes);
        handler.setNodeHandler(address(nodeHandler));

        INodeRegistry.Parameters memory params = _registryParameters();
        // Half an hour of heartbeat timeout: a node that keeps beating outlives short warps and
        // runs checkpoints; a long warp (up to 2 days) or a silent spell kills it.
        params.heartbeatTimeout = 30 minutes;
        vm.startPrank(admin);
        registry.setParameters(params);
        registry.grantRole(registry.MARKET_ROLE(), address(market));
        registry.grantRole(registry.ALLOCATOR_ROLE(), address(handler));
        registry.grantRole(registry.PAUSER_ROLE(), address(handler));
        ver.grantRole(ver.MINTER_ROLE(), address(handler));
        ver.grantRole(ver.MINTER_ROLE(), address(nodeHandler));
        vm.stopPrank();
        _afterHandlerDeployed();

        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](19);
        selectors[0] = TaskMarketHandler.submitTask.selector;
        selectors[1] = TaskMarketHandler.topUp.selector;
        selectors[2] = TaskMarketHandler.cancel.selector;
        selectors[3] = TaskMarketHandler.claimRefund.selector;
        selectors[4] = TaskMarketHandler.claimCompensation.selector;
        selectors[5] = TaskMarketHandler.commitCheckpoint.selector;
        selectors[6] = TaskMarketHandler.complete.selector;
        selectors[7] = TaskMarketHandler.withdraw.selector;
        selectors[8] = TaskMarketHandler.assign.selector;
        selectors[9] = TaskMarketHandler.move.selector;
        selectors[10] = TaskMarketHandler.reassign.selector;
        selectors[11] = TaskMarketHandler.settleNodeFailure.selector;
        selectors[12] = TaskMarketHandler.settle.selector;
        selectors[13] = handler.warp.selector;
        // the work itself twice as likely: submissions, assignments, checkpoints
        selectors[14] = TaskMarketHandler.submitTask.selector;
        selectors[15] = TaskMarketHandler.assign.selector;
        selectors[16] = TaskMarketHandler.commitCheckpoint.selector;
        selectors[17] = TaskMarketHandler.cancelNearCompletion.selector;
        // failures settled page by page: twice as likely
        selectors[18] = TaskMarketHandler.settleNodeFailure.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));

        targetContract(address(nodeHandler));
        bytes4[] memory nodeSelectors = new bytes4[](9);
        nodeSelectors[0] = TaskMarketNodeHandler.registerNode.selector;
        nodeSelectors[1] = TaskMarketNodeHandler.heartbeat.selector;
        nodeSelectors[2] = TaskMarketNodeHandler.requestExit.selector;
        nodeSelectors[3] = TaskMarketNodeHandler.reportFailure.selector;
        nodeSelectors[4] = TaskMarketNodeHandler.crashNode.selector;
        // heartbeats twice as likely: they keep nodes alive against the timeout
        nodeSelectors[5] = TaskMarketNodeHandler.heartbeat.selector;
        nodeSelectors[6] = TaskMarketNodeHandler.withdrawStake.selector;
        nodeSelectors[7] = TaskMarketNodeHandler.drawReassignment.selector;
        nodeSelectors[8] = TaskMarketNodeHandler.togglePause.selector;
        targetSelector(FuzzSelector({addr: address(nodeHandler), selectors: nodeSelectors}));
    }

    /// @notice Escrow conservation: VER held by the market == totalEscrow + totalEarnings +
    ///         totalCompensation, the totals equal the model's, the balance equals the VER that
    ///         flowed in and out, every payout matched the model, no call hit a panic, no
    ///         re-entrant replay was accepted, and every account's earnings and compensation
    ///         owed are the model's.
    function invariant_escrowConservation() public view {
        (uint256 escrow, uint256 earnings, uint256 compensation) = market.totals();
        uint256 balance = ver.balanceOf(address(market));
        assertEq(balance, escrow + earnings + compensation, "balance vs totals");
        assertEq(escrow, handler.ghostTotalEscrow(), "totalEscrow vs model");
        assertEq(earnings, handler.ghostTotalEarnings(), "totalEarnings vs model");
        assertEq(compensation, handler.ghostTotalCompensation(), "totalCompensation vs model");
        assertEq(balance, handler.ghostMarketIn() - handler.ghostMarketOut(), "balance vs VER flows");
        assertEq(handler.ghostPayoutMismatches(), 0, "a payout or credit differed from the model");
        assertEq(handler.ghostPanics(), 0, "a call failed with a panic");
        assertEq(handler.ghostReentriesAccepted(), 0, "a payout was re-entered");
        assertEq(handler.ghostRuleBreaks(), 0, "a call the rules forbid was accepted");
        assertEq(handler.ghostPayoutsBlocked(), 0, "an owed payout or a due settlement was refused");

        address[] memory actors = handler.actors();
        uint256 earningsSum;
        uint256 compensationSum;
        for (uint256 i = 0; i < actors.length; ++i) {
            assertEq(market.earningsOf(actors[i]), handler.ghostEarningsOf(actors[i]), "earningsOf vs model");
            assertEq(
                market.compensationOf(actors[i]), handler.ghostCompensationOf(actors[i]), "compensationOf vs model"
            );
            earningsSum += handler.ghostEarningsOf(actors[i]);
            compensationSum += handler.ghostCompensationOf(actors[i]);
        }
        assertEq(earningsSum, earnings, "sum of earnings owed vs totalEarnings");
        assertEq(compensationSum, compensation, "sum of compensation owed vs totalCompensation");
    }

    /// @notice No assignment is paid for time after its last checkpoint: each closed one earned
    ///         exactly floor(units * price * (min(lastCheckpointAt, task end) - startAt) / 3600),
    ///         with lastCheckpointAt the last checkpoint the node committed (or complete's final
    ///         one), by the model; and every assignment's terms and status are the model's.
    function invariant_paidOnlyUpToLastCheckpoint() public view {
        uint256 count = handler.assignmentCount();
        assertEq(market.assignmentCount(), count, "assignmentCount vs model");
        for (uint256 id = 1; id <= count; ++id) {
            TaskMarketHandler.GhostAssignment memory g = handler.ghostAssignment(id);
            ITaskMarket.AssignmentView memory a = market.getAssignment(id);
            assertEq(uint8(a.status), uint8(g.status), "assignment status vs model");
            assertEq(a.lastCheckpointAt, g.lastCheckpointAt, "lastCheckpointAt vs model");
            assertEq(a.checkpointStep, g.step, "checkpoint step vs model");
            assertEq(a.units, g.units, "assignment units vs model");
            assertEq(a.pricePerUnitHour, g.price, "assignment price vs model");
            assertEq(a.startAt, g.startAt, "assignment start vs model");
            assertEq(a.resumesFrom, g.resumesFrom, "resumesFrom vs model");
            assertEq(market.drawsOf(id), handler.ghostDraws(id), "VRF draws vs model");
            if (g.status == ITaskMarket.AssignmentStatus.Running) continue;
            assertLe(g.paidUntil, g.lastCheckpointAt, "paid for time after the last checkpoint");
            assertEq(g.paidUntil, g.modelPaidUntil, "paidUntil vs min(last checkpoint, task end)");
            assertEq(
                g.earned, g.units * g.price * (g.modelPaidUntil - g.startAt) / HOUR, "earned vs checkpointed span"
            );
        }
    }

    /// @notice Per task: refunds + payments never exceed what was escrowed and topped up; the
    ///         escrow left is exactly the difference; units and end are the model's; the task
    ///         escrows add up to totalEscrow.
    function invariant_taskPaymentsWithinEscrow() public view {
        uint256 count = handler.taskCount();
        assertEq(market.taskCount(), count, "taskCount vs model");
        uint256 escrowSum;
        for (uint256 taskId = 1; taskId <= count; ++taskId) {
            TaskMarketHandler.GhostTask memory g = handler.ghostTask(taskId);
            ITaskMarket.TaskView memory t = market.getTask(taskId);
            assertLe(g.paid + g.refunded, g.deposited, "task paid + refunded above its escrow");
            assertEq(t.escrow, g.deposited - g.paid - g.refunded, "task escrow vs model");
            assertEq(t.pendingUnits, g.pending, "pending units vs model");
            assertEq(t.runningUnits, g.running, "running units vs model");
            assertEq(t.expiresAt, g.expiresAt, "task end vs model");
            assertEq(
                market.checkpointDeadline(taskId),
                g.cancelled ? g.expiresAt + market.COMPLETION_WINDOW() : g.expiresAt,
                "checkpoint deadline vs model"
            );
            escrowSum += t.escrow;
        }
        (uint256 totalEscrow,,) = market.totals();
        assertEq(escrowSum, totalEscrow, "sum of task escrows vs totalEscrow");
    }

    /// @notice NodeRegistry with the market as its MARKET_ROLE holder: every node's reserved
    ///         units are its running assignments' and at most its capacity; VER held by the
    ///         registry == stakes + compensation held, as modelled; a failed node holds its
    ///         reserved units x the per-unit compensation fixed at its failure.
    function invariant_registryReservedMatchesMarket() public view {
        uint256[] memory ids = handler.nodeIds();
        for (uint256 i = 0; i < ids.length; ++i) {
            INodeRegistry.NodeView memory node = registry.getNode(ids[i]);
            TaskMarketHandler.GhostNode memory g = handler.ghostNode(ids[i]);
            assertLe(node.reserved, node.capacity, "reserved above capacity");
            assertEq(node.reserved, g.reserved, "reserved vs running assignments");
            assertEq(node.stake, g.stake, "stake vs model");
            assertEq(registry.compensationHeld(ids[i]), g.compensationHeld, "compensationHeld vs model");
            assertEq(registry.compensationPerUnit(ids[i]), g.perUnit, "compensation per unit vs model");
            // a failed node holds exactly its units' compensation: every held VER has a way out
            assertEq(g.compensationHeld, g.reserved * g.perUnit, "held vs reserved x perUnit");
        }
        (uint256 stakes, uint256 compensation) = registry.totalHeld();
        assertEq(ver.balanceOf(address(registry)), stakes + compensation, "registry balance vs totalHeld");
        assertEq(stakes, handler.ghostRegistryStake(), "registry stakes vs model");
        assertEq(compensation, handler.ghostRegistryCompensation(), "registry compensation vs model");
        assertEq(
            ver.balanceOf(address(registry)),
            handler.ghostRegistryIn() - handler.ghostRegistryOut(),
            "registry balance vs VER flows"
        );
    }
}

/// forge-config: default.invariant.runs = 48
/// forge-config: default.invariant.depth = 256
/// forge-config: long.invariant.runs = 480
/// forge-config: long.invariant.depth = 256
/// @title TaskMarketInvariantTest
/// @notice The invariants with VER exactly as deployed.
contract TaskMarketInvariantTest is TaskMarketInvariants {}

/// forge-config: default.invariant.runs = 24
/// forge-config: default.invariant.depth = 256
/// forge-config: long.invariant.runs = 240
/// forge-config: long.invariant.depth = 256
/// @title TaskMarketCallbackTokenInvariantTest
/// @notice The invariants with a token that calls contract receivers back, and developers and
///         contributors that are contracts replaying withdraw / claimRefund / claimCompensation /
///         reportFailure from inside the payout.
contract TaskMarketCallbackTokenInvariantTest is TaskMarketInvariants {
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

    /// @notice The re-entry machinery really fires: every accepted payout to an actor replayed
    ///         one call from inside the transfer.
    function afterInvariant() public view {
        assertGe(
            handler.ghostReentriesAttempted(),
            handler.calls("withdraw") + handler.calls("claimRefund") + handler.calls("claimCompensation"),
            "re-entry not tried"
        );
    }
}
