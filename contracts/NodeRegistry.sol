// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {INodeRegistry} from "./interfaces/INodeRegistry.sol";

/// @title NodeRegistry
/// @notice Registrations, stake, telemetry and failure of the compute nodes of the VerAI network.
contract NodeRegistry is INodeRegistry, AccessControl {
    using SafeERC20 for IERC20;

    /*//////////////////////////////////////////////////////////////
                                CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice The role of the task market: reserves and releases capacity, claims compensation.
    bytes32 public constant MARKET_ROLE = keccak256("MARKET_ROLE");

    uint256 private constant MAX_BPS = 10_000;
    uint256 private constant MAX_WATTS = type(uint24).max;
    uint256 private constant MAX_CLASSES = type(uint16).max;

    // Bit offsets of the NodeHot fields in their storage word (Solidity packs from the low end).
    uint256 private constant _HEARTBEAT_SHIFT = 160;
    uint256 private constant _WATTS_SHIFT = 192;
    uint256 private constant _LOAD_SHIFT = 216;
    uint256 private constant _STATUS_SHIFT = 232;
    uint256 private constant _CLASS_SHIFT = 240;
    uint256 private constant _OWNER_AND_CLASS_MASK =
        (uint256(type(uint16).max) << _CLASS_SHIFT) | uint256(type(uint160).max);

    /// @notice The VER token staked here.
    IERC20 public immutable token;

    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev Slot 0 of a node holds everything a heartbeat reads and writes, so a heartbeat costs
    ///      one cold SLOAD and one warm SSTORE:
    ///      owner (160) | lastHeartbeatAt (32) | watts (24) | loadBps (16) | status (8) | classId (16)
    ///      = 256 bits. uint32 seconds last until 2106; 2^24 W is 16.7 MW per node.
    struct NodeHot {
        address owner;
        uint32 lastHeartbeatAt;
        uint24 watts;
        uint16 loadBps;
        Status status;
        uint16 classId;
    }

    /// @dev Slot 1: capacity (32) | reserved (32) | pricePerUnitHour (96) | stake (96), read
    ///      together by the market when it reserves. 2^96 wei is 79 billion VER: ample for a price
    ///      per unit-hour or the stake of one node; 2^32 units per node is ample too.
    struct NodeAccount {
        uint32 capacity;
        uint32 reserved;
        uint96 pricePerUnitHour;
        uint96 stake;
    }

    /// @dev A class in one slot: minStake (128) | wattLimit (32) | configured (8).
    struct ClassConfig {
        uint128 minStake;
        uint32 wattLimit;
        bool configured;
    }

    mapping(uint256 nodeId => NodeHot) private _hot;
    mapping(uint256 nodeId => NodeAccount) private _account;
    /// @dev Written only at exit or failure, so registration does not pay for it.
    mapping(uint256 nodeId => uint256) private _unbondingEndsAt;
    mapping(uint256 nodeId => uint256) private _compensationHeld;
    mapping(address owner => mapping(uint16 classId => uint256 nodeId)) private _liveNodeOf;

    /// @dev Class ids are 1-based indexes into _classNames; 0 means unknown.
    bytes32[] private _classNames;
    mapping(bytes32 resourceClass => uint16 classId) private _classIds;
    mapping(uint16 classId => ClassConfig) private _classes;

    Parameters private _params;
    /// @dev One slot: nodeCount (64) | stake (96) | compensation (96), so a registration updates
    ///      the id counter and the total stake with a single SSTORE.
    Totals private _totals;

    struct Totals {
        uint64 nodeCount;
        uint96 stake;
        uint96 compensation;
    }

    /*//////////////////////////////////////////////////////////////
                               CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param token_ the VER token
    /// @param admin receives DEFAULT_ADMIN_ROLE (governance)
    /// @param params initial shared parameters
    constructor(IERC20 token_, address admin, Parameters memory params) {
        token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setParameters(params);
    }

    /*//////////////////////////////////////////////////////////////
                           CONTRIBUTOR ACTIONS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc INodeRegistry
    function register(
        bytes32 resourceClass,
        uint256 capacity,
        uint256 pricePerUnitHour,
        uint256 stake,
        string calldata metadataURI
    ) public returns (uint256 nodeId) {
        uint16 classId = _classIds[resourceClass];
        if (classId == 0) revert NodeRegistryUnknownClass(resourceClass);
        uint256 minStake = _classes[classId].minStake;
        if (capacity == 0 || capacity > type(uint32).max) revert NodeRegistryInvalidCapacity(capacity);
        if (pricePerUnitHour == 0 || pricePerUnitHour > type(uint96).max) {
            revert NodeRegistryInvalidPrice(pricePerUnitHour);
        }
        if (stake < minStake || stake > type(uint96).max) {
            revert NodeRegistryInsufficientStake(resourceClass, stake, minStake);
        }
        uint256 existing = _liveNodeOf[msg.sender][classId];
        if (existing != 0) revert NodeRegistryAlreadyRegistered(msg.sender, resourceClass, existing);

        Totals memory totals = _totals;
        nodeId = ++totals.nodeCount;
        totals.stake += uint96(stake);
        _totals = totals;
        _liveNodeOf[msg.sender][classId] = nodeId;
        _hot[nodeId] = NodeHot({
            owner: msg.sender,
            lastHeartbeatAt: uint32(block.timestamp),
            watts: 0,
            loadBps: 0,
            status: Status.Active,
            classId: classId
        });
        _account[nodeId] = NodeAccount({
            capacity: uint32(capacity),
            reserved: 0,
            pricePerUnitHour: uint96(pricePerUnitHour),
            stake: uint96(stake)
        });
        emit NodeRegistered(nodeId, msg.sender, resourceClass, capacity, pricePerUnitHour, stake, metadataURI);

        token.safeTransferFrom(msg.sender, address(this), stake);
    }

    /// @inheritdoc INodeRegistry
    function registerWithPermit(
        bytes32 resourceClass,
        uint256 capacity,
        uint256 pricePerUnitHour,
        uint256 stake,
        string calldata metadataURI,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 nodeId) {
        // A front-runner may submit the same permit first; then the allowance is already there and
        // registering must still work, so a failed permit is not fatal (transferFrom decides).
        // slither-disable-next-line unused-return
        try IERC20Permit(address(token)).permit(msg.sender, address(this), stake, deadline, v, r, s) {}
            catch {}
        return register(resourceClass, capacity, pricePerUnitHour, stake, metadataURI);
    }

    /// @inheritdoc INodeRegistry
    /// @dev The hottest call of the network, so it reads and writes the packed NodeHot word by hand
    ///      (bit offsets in the NodeHot comment): one cold SLOAD, one warm SSTORE, one class read.
    function heartbeat(uint256 nodeId, uint256 loadBps, uint256 watts) external {
        mapping(uint256 => NodeHot) storage hot = _hot;
        uint256 slot;
        uint256 word;
        assembly ("memory-safe") {
            mstore(0x00, nodeId)
            mstore(0x20, hot.slot)
            slot := keccak256(0x00, 0x40)
            word := sload(slot)
        }
        address owner = address(uint160(word));
        if (owner != msg.sender) _revertNotOwner(nodeId, owner);
        if (loadBps > MAX_BPS) revert NodeRegistryLoadOutOfRange(loadBps, MAX_BPS);
        if (watts > MAX_WATTS) revert NodeRegistryWattsOutOfRange(watts, MAX_WATTS);
        Status status = Status(uint8(word >> _STATUS_SHIFT));
        Status next = status;
        if (status == Status.Active || status == Status.Throttled) {
            uint256 limit = _classes[uint16(word >> _CLASS_SHIFT)].wattLimit;
            next = (limit != 0 && watts > limit) ? Status.Throttled : Status.Active;
            if (next != status) emit NodeStatusChanged(nodeId, status, next);
        } else if (status != Status.Exiting) {
            revert NodeRegistryInvalidStatus(nodeId, status);
        }
        // Keep owner and classId, replace the telemetry and status fields.
        word = (word & _OWNER_AND_CLASS_MASK) | (block.timestamp << _HEARTBEAT_SHIFT)
            | (watts << _WATTS_SHIFT) | (loadBps << _LOAD_SHIFT) | (uint256(next) << _STATUS_SHIFT);
        assembly ("memory-safe") {
            sstore(slot, word)
        }
        emit HeartbeatRecorded(nodeId, uint16(loadBps), uint24(watts));
    }

    /// @inheritdoc INodeRegistry
    function updatePrice(uint256 nodeId, uint256 newPrice) external {
        _requireOwnerOfLiveNode(nodeId);
        if (newPrice == 0 || newPrice > type(uint96).max) revert NodeRegistryInvalidPrice(newPrice);
        NodeAccount storage account = _account[nodeId];
        uint256 oldPrice = account.pricePerUnitHour;
        account.pricePerUnitHour = uint96(newPrice);
        emit PriceUpdated(nodeId, oldPrice, newPrice);
    }

    /// @inheritdoc INodeRegistry
    function updateCapacity(uint256 nodeId, uint256 newCapacity) external {
        _requireOwnerOfLiveNode(nodeId);
        if (newCapacity == 0 || newCapacity > type(uint32).max) {
            revert NodeRegistryInvalidCapacity(newCapacity);
        }
        NodeAccount storage account = _account[nodeId];
        if (newCapacity < account.reserved) {
            revert NodeRegistryCapacityBelowReserved(nodeId, newCapacity, account.reserved);
        }
        uint256 oldCapacity = account.capacity;
        account.capacity = uint32(newCapacity);
        emit CapacityUpdated(nodeId, oldCapacity, newCapacity);
    }

    /// @inheritdoc INodeRegistry
    function addStake(uint256 nodeId, uint256 amount) external {
        _requireOwnerOfLiveNode(nodeId);
        NodeAccount storage account = _account[nodeId];
        uint256 newStake = uint256(account.stake) + amount;
        if (newStake > type(uint96).max) revert NodeRegistryInvalidParameter("stake", newStake);
        account.stake = uint96(newStake);
        _totals.stake += uint96(amount);
        emit StakeAdded(nodeId, amount, newStake);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc INodeRegistry
    function requestExit(uint256 nodeId) external {
        Status status = _requireOwnerOfLiveNode(nodeId);
        uint256 endsAt = block.timestamp + _params.unbondingPeriod;
        _unbondingEndsAt[nodeId] = endsAt;
        _hot[nodeId].status = Status.Exiting;
        emit NodeStatusChanged(nodeId, status, Status.Exiting);
        emit ExitRequested(nodeId, endsAt);
    }

    /// @inheritdoc INodeRegistry
    function withdraw(uint256 nodeId) external {
        NodeHot storage node = _hot[nodeId];
        if (node.owner != msg.sender) _revertNotOwner(nodeId, node.owner);
        Status status = node.status;
        if (status != Status.Exiting && status != Status.Failed) {
            revert NodeRegistryInvalidStatus(nodeId, status);
        }
        NodeAccount storage account = _account[nodeId];
        uint96 stake = account.stake;
        if (stake == 0) revert NodeRegistryNothingToWithdraw(nodeId);
        uint256 endsAt = _unbondingEndsAt[nodeId];
        if (block.timestamp < endsAt) {
            // unchecked: guarded by the comparison above
            unchecked {
                revert NodeRegistryStillUnbonding(nodeId, endsAt - block.timestamp);
            }
        }
        uint256 reserved = account.reserved;
        if (reserved != 0) revert NodeRegistryCapacityStillReserved(nodeId, reserved);

        account.stake = 0;
        _totals.stake -= stake;
        if (status == Status.Exiting) {
            node.status = Status.Exited;
            _liveNodeOf[msg.sender][node.classId] = 0;
            emit NodeStatusChanged(nodeId, Status.Exiting, Status.Exited);
        }
        emit StakeWithdrawn(nodeId, msg.sender, stake);
        token.safeTransfer(msg.sender, stake);
    }

    /*//////////////////////////////////////////////////////////////
                                 ANYONE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc INodeRegistry
    function reportFailure(uint256 nodeId) external {
        NodeHot memory node = _hot[nodeId];
        if (node.owner == address(0)) revert NodeRegistryUnknownNode(nodeId);
        Status status = node.status;
        if (status != Status.Active && status != Status.Throttled && status != Status.Exiting) {
            revert NodeRegistryInvalidStatus(nodeId, status);
        }
        Parameters memory params = _params;
        uint256 expiresAt = uint256(node.lastHeartbeatAt) + params.heartbeatTimeout;
        if (block.timestamp <= expiresAt) {
            // unchecked: block.timestamp <= expiresAt here; +1 because the timeout must be exceeded
            unchecked {
                revert NodeRegistryHeartbeatNotExpired(nodeId, expiresAt - block.timestamp + 1);
            }
        }

        NodeAccount storage account = _account[nodeId];
        // The bounty is by definition a share of the amount actually slashed (already rounded
        // down), and held = slashed - bounty, so the rounding never loses or creates VER.
        // slither-disable-next-line divide-before-multiply
        uint256 slashed = uint256(account.stake) * params.slashBps / MAX_BPS;
        uint256 bounty = slashed * params.reporterBountyBps / MAX_BPS;
        uint256 held = slashed - bounty;

        _hot[nodeId].status = Status.Failed;
        // The owner may register a new node of this class at once; this one stays Failed forever.
        _liveNodeOf[node.owner][node.classId] = 0;
        account.stake -= uint96(slashed);
        _unbondingEndsAt[nodeId] = block.timestamp + params.unbondingPeriod;
        _compensationHeld[nodeId] += held;
        Totals memory totals = _totals;
        totals.stake -= uint96(slashed);
        totals.compensation += uint96(held);
        _totals = totals;
        emit NodeStatusChanged(nodeId, status, Status.Failed);
        emit NodeFailed(nodeId, msg.sender, slashed, bounty, held);

        if (bounty != 0) token.safeTransfer(msg.sender, bounty);
    }

    /*//////////////////////////////////////////////////////////////
                               MARKET ROLE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc INodeRegistry
    function reserve(uint256 nodeId, uint256 units) external onlyRole(MARKET_ROLE) {
        Status status = _hot[nodeId].status;
        if (status != Status.Active) {
            if (status == Status.None) revert NodeRegistryUnknownNode(nodeId);
            revert NodeRegistryInvalidStatus(nodeId, status);
        }
        NodeAccount storage account = _account[nodeId];
        uint256 reserved = account.reserved;
        uint256 free = account.capacity - reserved;
        if (units == 0 || units > free) revert NodeRegistryInsufficientFreeCapacity(nodeId, units, free);
        // unchecked: units <= free = capacity - reserved, so reserved + units <= capacity < 2^32
        unchecked {
            reserved += units;
        }
        account.reserved = uint32(reserved);
        emit CapacityReserved(nodeId, units, reserved);
    }

    /// @inheritdoc INodeRegistry
    function release(uint256 nodeId, uint256 units) external onlyRole(MARKET_ROLE) {
        NodeAccount storage account = _account[nodeId];
        uint256 reserved = account.reserved;
        if (units > reserved) revert NodeRegistryReleaseExceedsReserved(nodeId, units, reserved);
        // unchecked: units <= reserved
        unchecked {
            reserved -= units;
        }
        account.reserved = uint32(reserved);
        emit CapacityReleased(nodeId, units, reserved);
    }

    /// @inheritdoc INodeRegistry
    function claimCompensation(uint256 nodeId, address to)
        external
        onlyRole(MARKET_ROLE)
        returns (uint256 amount)
    {
        amount = _compensationHeld[nodeId];
        if (amount == 0) revert NodeRegistryNothingToWithdraw(nodeId);
        _compensationHeld[nodeId] = 0;
        _totals.compensation -= uint96(amount);
        emit CompensationClaimed(nodeId, to, amount);
        token.safeTransfer(to, amount);
    }

    /*//////////////////////////////////////////////////////////////
                               GOVERNANCE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc INodeRegistry
    function setClassConfig(bytes32 resourceClass, uint256 minStake, uint256 wattLimit)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (resourceClass == bytes32(0)) revert NodeRegistryUnknownClass(resourceClass);
        if (minStake > type(uint96).max) revert NodeRegistryInvalidParameter("minStake", minStake);
        if (wattLimit > MAX_WATTS) revert NodeRegistryInvalidParameter("wattLimit", wattLimit);
        uint16 classId = _classIds[resourceClass];
        if (classId == 0) {
            if (_classNames.length >= MAX_CLASSES) revert NodeRegistryTooManyClasses(MAX_CLASSES);
            _classNames.push(resourceClass);
            classId = uint16(_classNames.length);
            _classIds[resourceClass] = classId;
        }
        _classes[classId] =
            ClassConfig({minStake: uint128(minStake), wattLimit: uint32(wattLimit), configured: true});
        emit ClassConfigured(resourceClass, minStake, wattLimit);
    }

    /// @inheritdoc INodeRegistry
    function setParameters(Parameters calldata params) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setParameters(params);
    }

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc INodeRegistry
    function getNode(uint256 nodeId) external view returns (NodeView memory view_) {
        NodeHot memory node = _hot[nodeId];
        if (node.owner == address(0)) revert NodeRegistryUnknownNode(nodeId);
        NodeAccount memory account = _account[nodeId];
        view_ = NodeView({
            owner: node.owner,
            resourceClass: _classNames[node.classId - 1],
            status: node.status,
            capacity: account.capacity,
            reserved: account.reserved,
            pricePerUnitHour: account.pricePerUnitHour,
            stake: account.stake,
            lastHeartbeatAt: node.lastHeartbeatAt,
            loadBps: node.loadBps,
            watts: node.watts,
            unbondingEndsAt: uint32(_unbondingEndsAt[nodeId])
        });
    }

    /// @inheritdoc INodeRegistry
    function freeCapacity(uint256 nodeId) external view returns (uint256) {
        NodeAccount memory account = _account[nodeId];
        return account.capacity - account.reserved;
    }

    /// @inheritdoc INodeRegistry
    function nodeOf(address owner, bytes32 resourceClass) external view returns (uint256) {
        return _liveNodeOf[owner][_classIds[resourceClass]];
    }

    /// @inheritdoc INodeRegistry
    function nodeCount() external view returns (uint256) {
        return _totals.nodeCount;
    }

    /// @inheritdoc INodeRegistry
    function classConfig(bytes32 resourceClass)
        external
        view
        returns (bool configured, uint256 minStake, uint256 wattLimit)
    {
        ClassConfig memory config = _classes[_classIds[resourceClass]];
        return (config.configured, config.minStake, config.wattLimit);
    }

    /// @inheritdoc INodeRegistry
    function parameters() external view returns (Parameters memory) {
        return _params;
    }

    /// @inheritdoc INodeRegistry
    function compensationHeld(uint256 nodeId) external view returns (uint256) {
        return _compensationHeld[nodeId];
    }

    /// @inheritdoc INodeRegistry
    function totalHeld() external view returns (uint256 stakes, uint256 compensation) {
        Totals memory totals = _totals;
        return (totals.stake, totals.compensation);
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    function _setParameters(Parameters memory params) private {
        if (params.heartbeatTimeout == 0) {
            revert NodeRegistryInvalidParameter("heartbeatTimeout", params.heartbeatTimeout);
        }
        if (params.slashBps > MAX_BPS) revert NodeRegistryInvalidParameter("slashBps", params.slashBps);
        if (params.reporterBountyBps > MAX_BPS) {
            revert NodeRegistryInvalidParameter("reporterBountyBps", params.reporterBountyBps);
        }
        _params = params;
        emit ParametersSet(
            params.heartbeatTimeout, params.unbondingPeriod, params.slashBps, params.reporterBountyBps
        );
    }

    /// @dev Owner check for actions on a node that still takes work (Active or Throttled).
    function _requireOwnerOfLiveNode(uint256 nodeId) private view returns (Status status) {
        NodeHot memory node = _hot[nodeId];
        if (node.owner != msg.sender) _revertNotOwner(nodeId, node.owner);
        status = node.status;
        if (status != Status.Active && status != Status.Throttled) {
            revert NodeRegistryInvalidStatus(nodeId, status);
        }
    }

    function _revertNotOwner(uint256 nodeId, address owner) private view {
        if (owner == address(0)) revert NodeRegistryUnknownNode(nodeId);
        revert NodeRegistryNotOwner(nodeId, msg.sender, owner);
    }
}
