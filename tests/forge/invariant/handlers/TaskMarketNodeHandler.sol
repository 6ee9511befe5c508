// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {VerToken} from "../../../../contracts/VerToken.sol";
import {NodeRegistry} from "../../../../contracts/NodeRegistry.sol";
import {INodeRegistry} from "../../../../contracts/interfaces/INodeRegistry.sol";
import {Clock} from "../../utils/Clock.sol";
import {HandlerBase} from "./HandlerBase.sol";
import {TaskMarketHandler} from "./TaskMarketHandler.sol";

/// @title TaskMarketNodeHandler
/// @notice The NodeRegistry side of the TaskMarket suites: contributors register nodes, send
///         heartbeats and exit; anyone reports failures; a node running work crashes. The model
///         lives in TaskMarketHandler (which the hooks called here update); this contract is
///         apart only to keep each handler under the 24 KiB code size limit.
/// @dev Needs VER MINTER_ROLE. Its actors are the market handler's (same names, same addresses).
///      The etched re-entrant receivers of the callback suite replay what the market handler
///      arms, so the reporter's bounty is not replayed here (the NodeRegistry suite does that).
contract TaskMarketNodeHandler is HandlerBase {
    /// @dev As in TaskMarketHandler: actors 0-2 are developers, 3-5 contributors.
    uint256 internal constant DEVELOPERS = 3;
    uint256 internal constant CONTRIBUTORS = 3;
    uint256 internal constant MAX_BPS = 10_000;
    uint256 internal constant MAX_CAPACITY = 16;
    uint256 internal constant MIN_PRICE = 1e15;
    uint256 internal constant MAX_NODE_PRICE = 1e18;

    VerToken public immutable ver;
    NodeRegistry public immutable registry;
    TaskMarketHandler public immutable model;

    bytes32[] internal _classes;
    mapping(bytes32 class => uint256) internal _minStake;

    constructor(
        Clock clock_,
        VerToken ver_,
        NodeRegistry registry_,
        TaskMarketHandler model_,
        bytes32[] memory classes_,
        uint256[] memory minStakes
    ) HandlerBase(clock_, "market-actor", DEVELOPERS + CONTRIBUTORS) {
        ver = ver_;
        registry = registry_;
        model = model_;
        for (uint256 i = 0; i < classes_.length; ++i) {
            _classes.push(classes_[i]);
            _minStake[classes_[i]] = minStakes[i];
        }
    }

    /// @notice A contributor registers a node (one live node per owner and class).
    function registerNode(uint256 ownerSeed, uint256 classSeed, uint256 capacity, uint256 price, uint256 stake)
        external
        synced
    {
        address owner = _contributor(ownerSeed);
        bytes32 class = _classes[classSeed % _classes.length];
        capacity = bound(capacity, 1, MAX_CAPACITY);
        price = bound(price, MIN_PRICE, MAX_NODE_PRICE);
        stake = bound(stake, _minStake[class], _minStake[class] * 3);
        ver.mint(owner, stake);
        vm.prank(owner);
        ver.approve(address(registry), stake);
        (bool ok, bytes memory ret) = _call(
            owner, abi.encodeCall(INodeRegistry.register, (class, capacity, price, stake, "ipfs://n"))
        );
        if (!ok) return;
        model.recordNode(abi.decode(ret, (uint256)), owner, class, capacity, price, stake);
        ++calls["registerNode"];
    }

    /// @notice The node's owner sends a heartbeat a little later (watts sometimes above the GPU
    ///         limit: throttled).
    function heartbeat(uint256 nodeSeed, uint256 watts) external synced {
        uint256 nodeId = _node(nodeSeed);
        if (nodeId == 0) return;
        // a heartbeat interval passes first (up to 5 minutes)
        clock.advance(bound(watts >> 16, 0, 5 minutes));
        watts = bound(watts & 0xffff, 0, 800);
        address owner = model.ghostNode(nodeId).owner;
        (bool ok,) = _call(owner, abi.encodeCall(INodeRegistry.heartbeat, (nodeId, 5_000, watts)));
        if (ok) ++calls["heartbeat"];
    }

    /// @notice The owner starts the node's exit (its running assignments go on); one call in four.
    function requestExit(uint256 nodeSeed) external synced {
        // one call in four: exiting nodes take no new work
        if (nodeSeed % 4 != 0) return;
        uint256 nodeId = _node(nodeSeed >> 2);
        if (nodeId == 0) return;
        (bool ok,) = _call(model.ghostNode(nodeId).owner, abi.encodeCall(INodeRegistry.requestExit, (nodeId)));
        if (ok) ++calls["requestExit"];
    }

    /// @notice Anyone reports a node whose heartbeat timed out (often too early: rejected).
    function reportFailure(uint256 nodeSeed, uint256 reporterSeed) external synced {
        // mostly a node running work (the interesting failures), else any node
        uint256 nodeId = nodeSeed % 4 == 0 ? 0 : model.runningNode(nodeSeed >> 2);
        if (nodeId == 0) nodeId = _node(nodeSeed >> 2);
        if (nodeId == 0) return;
        if (_reportFailure(nodeId, _actor(reporterSeed))) ++calls["reportFailure"];
    }

    /// @notice A node running work crashes while the others keep beating: the heartbeat timeout
    ///         passes, every other live node sends a heartbeat, and someone reports the crash.
    ///         One time in two a watcher settles the failure right away. (Failures from plain
    ///         warps mostly come after the tasks ended; these strike open tasks, whose units go
    ///         back pending and get reassigned.)
    function crashNode(uint256 assignmentSeed, uint256 reporterSeed) external synced {
        uint256 nodeId = model.runningNode(assignmentSeed);
        if (nodeId == 0 || model.ghostNode(nodeId).failed) return;
        clock.advance(registry.parameters().heartbeatTimeout + 1);
        uint256[] memory ids = model.nodeIds();
        for (uint256 i = 0; i < ids.length; ++i) {
            if (ids[i] == nodeId) continue;
            // Active, Throttled or Exiting nodes beat; the registry refuses the others
            _call(model.ghostNode(ids[i]).owner, abi.encodeCall(INodeRegistry.heartbeat, (ids[i], 5_000, 0)));
        }
        if (!_reportFailure(nodeId, _actor(reporterSeed))) return;
        ++calls["crashNode"];
        if (reporterSeed & 0x100 != 0) model.settleFailureNow(nodeId);
    }

    // ---------------------------------------------------------------- internal

    /// @dev Calls the registry as `caller` (a rejected call changes nothing; the registry's own
    ///      arithmetic is the NodeRegistry suite's concern).
    function _call(address caller, bytes memory data) internal returns (bool ok, bytes memory ret) {
        vm.prank(caller);
        (ok, ret) = address(registry).call(data);
    }

    /// @dev `reporter` reports `nodeId`; on success the slash and bounty go into the model.
    function _reportFailure(uint256 nodeId, address reporter) internal returns (bool) {
        uint256 stake = model.ghostNode(nodeId).stake;
        uint256 before = ver.balanceOf(reporter);
        (bool ok,) = _call(reporter, abi.encodeCall(INodeRegistry.reportFailure, (nodeId)));
        if (!ok) return false;
        bool paidOk;
        uint256 slashed;
        uint256 bounty;
        {
            INodeRegistry.Parameters memory p = registry.parameters();
            slashed = stake * p.slashBps / MAX_BPS;
            bounty = slashed * p.reporterBountyBps / MAX_BPS;
            paidOk = ver.balanceOf(reporter) - before == bounty;
        }
        model.recordFailure(nodeId, slashed, bounty, paidOk);
        return true;
    }

    function _contributor(uint256 seed) internal view returns (address) {
        return _actors[DEVELOPERS + seed % CONTRIBUTORS];
    }

    function _node(uint256 seed) internal view returns (uint256) {
        uint256[] memory ids = model.nodeIds();
        return ids.length == 0 ? 0 : ids[seed % ids.length];
    }
}
