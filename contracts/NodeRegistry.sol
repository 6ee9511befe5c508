// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {INodeRegistry} from "./interfaces/INodeRegistry.sol";
import {IVerToken} from "./interfaces/IVerToken.sol";

/// @title NodeRegistry
/// @notice Registrations, stake, telemetry and failure of the compute nodes of the VerAI network,
///         and the network's governance root (roles, pause, parameters).
contract NodeRegistry is INodeRegistry, AccessControlDefaultAdminRules, Pausable {
    using SafeERC20 for IVerToken;

    /*//////////////////////////////////////////////////////////////
                                CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice The role of the task market: reserves and releases capacity, claims compensation.
    bytes32 public constant MARKET_ROLE = keccak256("MARKET_ROLE");
    /// @notice The role the TaskMarket requires to open, move and reassign assignments (the
    ///         committee's ReportVerifier).
    bytes32 public constant ALLOCATOR_ROLE = keccak256("ALLOCATOR_ROLE");
    /// @notice The role that pauses and unpauses the network.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    uint256 private constant MAX_BPS = 10_000;
    uint256 private constant MAX_WATTS = type(uint24).max;
    uint256 private constant MAX_CLASSES = type(uint16).max;

    // Bounds of the governance parameters (NatSpec of setParameters / setClassConfig).
    uint256 private constant MIN_HEARTBEAT_TIMEOUT = 60;
    uint256 private constant MAX_HEARTBEAT_TIMEOUT = 1 days;
    uint256 private constant MIN_UNBONDING_PERIOD = 1 hours;
    uint256 private constant MAX_UNBONDING_PERIOD = 90 days;
    uint256 private constant MIN_FAILURE_GRACE = 60;
    uint256 private constant MAX_FAILURE_GRACE = 1 days;
    uint256 private constant MIN_SLASH_BPS = 100;
    uint256 private constant MAX_SLASH_BPS = 5_000;
    uint256 private constant MAX_BOUNTY_BPS = 5_000;
    /// @dev At least a quarter of every slash is burned, so an owner that reports its own node and
    ///      runs every task on it never gets more than three quarters of its slash back.
    uint256 private constant MIN_BURN_BPS = 2_500;
    uint256 private constant MIN_CLASS_STAKE = 1e18;

    // Bit offsets of the NodeHot fields in their storage word (Solidity packs from the low end).
    uint256 private constant _WATTS_SHIFT = 32;
    uint256 private constant _LOAD_SHIFT = 56;
    uint256 private constant _STATUS_SHIFT = 72;
    uint256 private constant _CLASS_SHIFT = 80;
    uint256 private constant _ENERGY_SHIFT = 96;
    uint256 private constant _COUNTER_SHIFT = 160;
    /// @dev What a heartbeat keeps of the word: classId and renewableBps (bits 80-95, 224-239).
    uint256 private constant _KEEP_MASK = (uint256(type(uint16).max) << _CLASS_SHIFT) | (uint256(type(uint16).max) << 224);
    /// @dev keccak256("HeartbeatRecorded(uint256,uint256)"), emitted by hand.
    bytes32 private constant _HEARTBEAT_TOPIC = keccak256("HeartbeatRecorded(uint256,uint256)");
    /// @dev The statuses in which a node may send heartbeats, as a bit set: Active, Throttled,
    ///      Exiting (an exiting node still runs its assignments).
    uint256 private constant _BEATING_STATUSES =
        (1 << uint8(Status.Active)) | (1 << uint8(Status.Throttled)) | (1 << uint8(Status.Exiting));
    // Bit offsets of the energy totals in a ClassConfig word.
    uint256 private constant _CLASS_ENERGY_SHIFT = 128;
    uint256 private constant _CLASS_MEASURED_SHIFT = 192;

    /// @notice The VER token staked here.
    IVerToken public immutable token;

    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev The word of a node holds everything a heartbeat reads and writes, so a heartbeat costs
    ///      one cold SLOAD and one warm SSTORE for the node (plus its class's word, for the watt
    ///      limit and the class's energy totals):
    ///      lastHeartbeatAt (32) | watts (24) | loadBps (16) | status (8) | classId (16) |
    ///      energyJ (64) | counterJ (64) | renewableBps (16) = 240 bits.
    ///      It is keyed by owner and node id (`_hot[owner][nodeId]`), so that it needs no owner
    ///      field: a heartbeat from anyone but the owner reads an empty word. uint32 seconds last
    ///      until 2106; 2^24 W is 16.7 MW per node; 2^64 J is 5 TWh.
    struct NodeHot {
        uint32 lastHeartbeatAt;
        uint24 watts;
        uint16 loadBps;
        Status status;
        uint16 classId;
        uint64 energyJ; // energy credited from heartbeats, joules
        uint64 counterJ; // the node's own energy counter at its last heartbeat; 0: none (estimated)
        uint16 renewableBps; // declared renewable share of its supply
    }

    /// @dev Slot 1: capacity (32) | reserved (32) | pricePerUnitHour (96) | stake (96), read
    ///      together by the market when it reserves. 2^96 wei is 79 billion VER, above the VER
    ///      supply cap (10 billion), so no stake or total of stakes can overflow its field.
    struct NodeAccount {
        uint32 capacity;
        uint32 reserved;
        uint96 pricePerUnitHour;
        uint96 stake;
    }

    /// @dev A class in one slot, read by every heartbeat (watt limit) and written by it (totals):
    ///      minStake (80) | wattLimit (24) | heartbeatTimeout (24) | energyJ (64) | measuredJ (64).
    ///      minStake < 2^80 and wattLimit < 2^24 are checked by setClassConfig; a configured
    ///      class has minStake >= 1 VER, so minStake == 0 means unknown. heartbeatTimeout is a
    ///      copy of the parameter (<= 1 day), kept here by setParameters so that a heartbeat, which
    ///      caps the interval it credits at it, reads no other slot.
    struct ClassConfig {
        uint80 minStake;
        uint24 wattLimit;
        uint24 heartbeatTimeout;
        uint64 energyJ; // sum of the energyJ of the class's nodes
        uint64 measuredJ; // the part of it credited from energy counters (measured)
    }

    /// @dev A failed node, one slot written at the failure: compensationHeld (96) |
    ///      compensationPerUnit (96). Invariant: compensationHeld == reserved x perUnit, since
    ///      every release of a failed node's units pays exactly their compensation.
    struct Failure {
        uint96 compensationHeld;
        uint96 perUnit;
    }

    /// @dev A suspicion, one slot: reporter (160) | suspectedAt (32) | failableAt (32). Void once
    ///      the node's lastHeartbeatAt >= suspectedAt; deleted at the failure.
    struct Suspicion {
        address reporter;
        uint32 suspectedAt;
        uint32 failableAt;
    }

    mapping(address owner => mapping(uint256 nodeId => NodeHot)) private _hot;
    /// @dev Owners never change; written once at registration.
    mapping(uint256 nodeId => address owner) private _owners;
    mapping(uint256 nodeId => NodeAccount) private _account;
    /// @dev Written only at exit or failure, so registration does not pay for it.
    mapping(uint256 nodeId => uint256) private _unbondingEndsAt;
    mapping(uint256 nodeId => Failure) private _failures;
    mapping(uint256 nodeId => Suspicion) private _suspicions;
    mapping(address owner => mapping(uint16 classId => uint256 nodeId)) private _liveNodeOf;

    /// @dev Class ids are 1-based indexes into _classNames; 0 means unknown.
    bytes32[] private _classNames;
    mapping(bytes32 resourceClass => uint16 classId) private _classIds;
    mapping(uint16 classId => ClassConfig) private _classes;

    /// @dev One slot: heartbeatTimeout (32) | unbondingPeriod (32) | slashBps (16) |
    ///      reporterBountyBps (16) | failureGrace (32) | burnBps (16).
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
    /// @param admin receives DEFAULT_ADMIN_ROLE (governance; transferred in two steps)
    /// @param adminDelay seconds between the start and the acceptance of an admin transfer
    /// @param params initial shared parameters (bounded as in setParameters)
    constructor(IVerToken token_, address admin, uint48 adminDelay, Parameters memory params)
        AccessControlDefaultAdminRules(adminDelay, admin)
    {
        token = token_;
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
    ) public whenNotPaused returns (uint256 nodeId) {
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
        _owners[nodeId] = msg.sender;
        _hot[msg.sender][nodeId] = NodeHot({
            lastHeartbeatAt: uint32(block.timestamp),
            watts: 0,
            loadBps: 0,
            status: Status.Active,
            classId: classId,
            energyJ: 0,
            counterJ: 0,
            renewableBps: 0
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
    function heartbeat(uint256 nodeId, uint256 loadBps, uint256 watts) external {
        _beat(nodeId, loadBps, watts, 0);
    }

    /// @inheritdoc INodeRegistry
    function heartbeat(uint256 nodeId, uint256 loadBps, uint256 watts, uint256 energyJ) external {
        _beat(nodeId, loadBps, watts, energyJ);
    }

    /// @inheritdoc INodeRegistry
    function declareRenewableShare(uint256 nodeId, uint256 shareBps, string calldata evidenceURI) external {
        NodeHot storage node = _hot[msg.sender][nodeId];
        Status status = node.status;
        if (status != Status.Active && status != Status.Throttled && status != Status.Exiting) {
            if (status == Status.None) _revertNotOwner(nodeId, _owners[nodeId]);
            revert NodeRegistryInvalidStatus(nodeId, status);
        }
        if (shareBps > MAX_BPS) revert NodeRegistryRenewableShareOutOfRange(shareBps, MAX_BPS);
        node.renewableBps = uint16(shareBps);
        emit RenewableShareDeclared(nodeId, shareBps, evidenceURI);
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
        _hot[msg.sender][nodeId].status = Status.Exiting;
        emit NodeStatusChanged(nodeId, status, Status.Exiting);
        emit ExitRequested(nodeId, endsAt);
    }

    /// @inheritdoc INodeRegistry
    function withdraw(uint256 nodeId) external {
        NodeHot storage node = _hot[msg.sender][nodeId];
        Status status = node.status;
        if (status == Status.None) _revertNotOwner(nodeId, _owners[nodeId]);
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
        address owner = _owners[nodeId];
        if (owner == address(0)) revert NodeRegistryUnknownNode(nodeId);
        (uint256 slot, uint256 word) = _nodeWord(owner, nodeId);
        Status status = Status(uint8(word >> _STATUS_SHIFT));
        if (status != Status.Active && status != Status.Throttled && status != Status.Exiting) {
            revert NodeRegistryInvalidStatus(nodeId, status);
        }
        uint256 reserved = _account[nodeId].reserved;
        // slither-disable-next-line incorrect-equality (a status and a unit count)
        if (status == Status.Exiting && reserved == 0) revert NodeRegistryNothingAtRisk(nodeId);
        Parameters memory params = _params;
        uint256 lastHeartbeatAt = uint32(word);
        uint256 expiresAt = lastHeartbeatAt + params.heartbeatTimeout;
        if (block.timestamp <= expiresAt) {
            // unchecked: block.timestamp <= expiresAt here; +1 because the timeout must be exceeded
            unchecked {
                revert NodeRegistryHeartbeatNotExpired(nodeId, expiresAt - block.timestamp + 1);
            }
        }
        Suspicion memory suspicion = _suspicions[nodeId];
        if (suspicion.suspectedAt <= lastHeartbeatAt) {
            // No live suspicion (none yet, or the node beat since): raise one. Casts: the uint32
            // clock runs to 2106, and failureGrace <= 1 day.
            uint256 failableAt = block.timestamp + params.failureGrace;
            _suspicions[nodeId] = Suspicion({
                reporter: msg.sender,
                suspectedAt: uint32(block.timestamp),
                failableAt: uint32(failableAt)
            });
            emit NodeSuspected(nodeId, msg.sender, failableAt);
            return;
        }
        if (block.timestamp < suspicion.failableAt) {
            // unchecked: guarded by the comparison above
            unchecked {
                revert NodeRegistryFailureGracePeriod(nodeId, suspicion.failableAt - block.timestamp);
            }
        }
        // Failed, keeping every other field of the word
        word = (word & ~(uint256(type(uint8).max) << _STATUS_SHIFT)) | (uint256(Status.Failed) << _STATUS_SHIFT);
        assembly ("memory-safe") {
            sstore(slot, word)
        }
        emit NodeStatusChanged(nodeId, status, Status.Failed);
        _fail(nodeId, owner, uint16(word >> _CLASS_SHIFT), reserved, params, suspicion.reporter);
    }

    /*//////////////////////////////////////////////////////////////
                               MARKET ROLE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc INodeRegistry
    function reserve(uint256 nodeId, uint256 units) external onlyRole(MARKET_ROLE) {
        Status status = _hot[_owners[nodeId]][nodeId].status;
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
    function release(uint256 nodeId, address owner, uint256 units) external onlyRole(MARKET_ROLE) {
        Status status = _hot[owner][nodeId].status;
        // A failed node's units leave only with their compensation (claimCompensation); a wrong
        // owner reads status None.
        if (status == Status.Failed || status == Status.None) revert NodeRegistryInvalidStatus(nodeId, status);
        _release(nodeId, units);
    }

    /// @inheritdoc INodeRegistry
    function claimCompensation(uint256 nodeId, uint256 units, address to)
        external
        onlyRole(MARKET_ROLE)
        returns (uint256 amount)
    {
        Status status = _hot[_owners[nodeId]][nodeId].status;
        if (status != Status.Failed) revert NodeRegistryInvalidStatus(nodeId, status);
        _release(nodeId, units);
        Failure memory failure = _failures[nodeId];
        // units <= reserved (checked by _release) and held == reserved x perUnit before it, so
        // amount <= held: neither subtraction below can underflow (they stay checked all the same).
        amount = units * failure.perUnit;
        if (amount == 0) return 0;
        failure.compensationHeld -= uint96(amount);
        _failures[nodeId] = failure;
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
        _checkRange("minStake", minStake, MIN_CLASS_STAKE, type(uint80).max);
        _checkRange("wattLimit", wattLimit, 0, MAX_WATTS);
        uint16 classId = _classIds[resourceClass];
        if (classId == 0) {
            if (_classNames.length >= MAX_CLASSES) revert NodeRegistryTooManyClasses(MAX_CLASSES);
            _classNames.push(resourceClass);
            classId = uint16(_classNames.length);
            _classIds[resourceClass] = classId;
        }
        ClassConfig storage config = _classes[classId];
        (config.minStake, config.wattLimit, config.heartbeatTimeout) =
            (uint80(minStake), uint24(wattLimit), uint24(_params.heartbeatTimeout));
        emit ClassConfigured(resourceClass, minStake, wattLimit);
    }

    /// @inheritdoc INodeRegistry
    function setParameters(Parameters calldata params) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setParameters(params);
    }

    /// @inheritdoc INodeRegistry
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc INodeRegistry
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc INodeRegistry
    function paused() public view override(INodeRegistry, Pausable) returns (bool) {
        return super.paused();
    }

    /// @inheritdoc INodeRegistry
    function getNode(uint256 nodeId) external view returns (NodeView memory view_) {
        address owner = _owners[nodeId];
        if (owner == address(0)) revert NodeRegistryUnknownNode(nodeId);
        (, uint256 word) = _nodeWord(owner, nodeId);
        NodeAccount memory account = _account[nodeId];
        view_.owner = owner;
        view_.resourceClass = _classNames[uint16(word >> _CLASS_SHIFT) - 1];
        view_.status = Status(uint8(word >> _STATUS_SHIFT));
        view_.capacity = account.capacity;
        view_.reserved = account.reserved;
        view_.pricePerUnitHour = account.pricePerUnitHour;
        view_.stake = account.stake;
        view_.lastHeartbeatAt = uint32(word);
        view_.loadBps = uint16(word >> _LOAD_SHIFT);
        view_.watts = uint24(word >> _WATTS_SHIFT);
        view_.unbondingEndsAt = uint32(_unbondingEndsAt[nodeId]);
    }

    /// @inheritdoc INodeRegistry
    function statusOf(address owner, uint256 nodeId) external view returns (Status) {
        return _hot[owner][nodeId].status;
    }

    /// @inheritdoc INodeRegistry
    function nodeOffer(uint256 nodeId)
        external
        view
        returns (address owner, uint256 classId, Status status, uint256 free, uint256 pricePerUnitHour)
    {
        owner = _owners[nodeId];
        (, uint256 word) = _nodeWord(owner, nodeId);
        NodeAccount memory account = _account[nodeId];
        return (
            owner,
            uint16(word >> _CLASS_SHIFT),
            Status(uint8(word >> _STATUS_SHIFT)),
            account.capacity - account.reserved,
            account.pricePerUnitHour
        );
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
        return (config.minStake != 0, config.minStake, config.wattLimit);
    }

    /// @inheritdoc INodeRegistry
    function classIdOf(bytes32 resourceClass) external view returns (uint256) {
        return _classIds[resourceClass];
    }

    /// @inheritdoc INodeRegistry
    function classAt(uint256 classId) external view returns (bytes32) {
        return classId == 0 || classId > _classNames.length ? bytes32(0) : _classNames[classId - 1];
    }

    /// @inheritdoc INodeRegistry
    function parameters() external view returns (Parameters memory) {
        return _params;
    }

    /// @inheritdoc INodeRegistry
    function suspicionOf(uint256 nodeId)
        external
        view
        returns (address reporter, uint256 suspectedAt, uint256 failableAt)
    {
        Suspicion memory suspicion = _suspicions[nodeId];
        (, uint256 word) = _nodeWord(_owners[nodeId], nodeId);
        if (suspicion.suspectedAt <= uint32(word)) return (address(0), 0, 0);
        return (suspicion.reporter, suspicion.suspectedAt, suspicion.failableAt);
    }

    /// @inheritdoc INodeRegistry
    function energyOf(uint256 nodeId)
        external
        view
        returns (uint256 energyJ, uint256 counterJ, bool measured, uint256 renewableBps)
    {
        (, uint256 word) = _nodeWord(_owners[nodeId], nodeId);
        counterJ = uint64(word >> _COUNTER_SHIFT);
        return (uint64(word >> _ENERGY_SHIFT), counterJ, counterJ != 0, uint16(word >> 224));
    }

    /// @inheritdoc INodeRegistry
    function energyTotals()
        external
        view
        returns (
            uint256 energyJ,
            uint256 measuredJ,
            bytes32[] memory classes,
            uint256[] memory classEnergyJ,
            uint256[] memory classMeasuredJ
        )
    {
        uint256 count = _classNames.length;
        classes = _classNames;
        classEnergyJ = new uint256[](count);
        classMeasuredJ = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            // class ids are 1-based, at most 65535
            ClassConfig memory config = _classes[uint16(i + 1)];
            (classEnergyJ[i], classMeasuredJ[i]) = (config.energyJ, config.measuredJ);
            energyJ += config.energyJ;
            measuredJ += config.measuredJ;
        }
    }

    /// @inheritdoc INodeRegistry
    function compensationHeld(uint256 nodeId) external view returns (uint256) {
        return _failures[nodeId].compensationHeld;
    }

    /// @inheritdoc INodeRegistry
    function compensationPerUnit(uint256 nodeId) external view returns (uint256) {
        return _failures[nodeId].perUnit;
    }

    /// @inheritdoc INodeRegistry
    function totalHeld() external view returns (uint256 stakes, uint256 compensation) {
        Totals memory totals = _totals;
        return (totals.stake, totals.compensation);
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    /// @dev How a slash is split (see `_split`).
    struct Slash {
        uint256 slashed;
        uint256 bounty;
        uint256 burned;
        uint256 held;
        uint256 perUnit;
    }

    /// @dev Slashes a node the caller just marked Failed: pays the bounty to the suspicion's
    ///      reporter, burns the burn share, and holds the rest per reserved unit.
    function _fail(
        uint256 nodeId,
        address owner,
        uint256 classId,
        uint256 reserved,
        Parameters memory params,
        address reporter
    ) private {
        NodeAccount storage account = _account[nodeId];
        Slash memory slash = _split(account.stake, reserved, params);

        // The owner may register a new node of this class at once; this one stays Failed forever
        // (its status is written by the caller).
        _liveNodeOf[owner][uint16(classId)] = 0;
        account.stake -= uint96(slash.slashed);
        _unbondingEndsAt[nodeId] = block.timestamp + params.unbondingPeriod;
        // held <= slashed < 2^96, perUnit <= held
        _failures[nodeId] = Failure({compensationHeld: uint96(slash.held), perUnit: uint96(slash.perUnit)});
        delete _suspicions[nodeId];
        Totals memory totals = _totals;
        totals.stake -= uint96(slash.slashed);
        totals.compensation += uint96(slash.held);
        _totals = totals;
        emit NodeFailed(
            nodeId, reporter, slash.slashed, slash.bounty, slash.burned, slash.held, reserved, slash.perUnit
        );

        if (slash.bounty != 0) token.safeTransfer(reporter, slash.bounty);
        if (slash.burned != 0) token.burn(slash.burned);
    }

    /// @dev Each share is a rounded-down fraction of the amount actually slashed, and whatever the
    ///      per-unit split cannot place (rounding, or everything when nothing is reserved) is
    ///      burned, so slashed == bounty + burned + held exactly and no VER is created or
    ///      stranded. burnBps + reporterBountyBps <= 10000, so bounty + burn share <= slashed.
    function _split(uint256 stake, uint256 reserved, Parameters memory params)
        private
        pure
        returns (Slash memory slash)
    {
        // slither-disable-next-line divide-before-multiply
        slash.slashed = stake * params.slashBps / MAX_BPS;
        slash.bounty = slash.slashed * params.reporterBountyBps / MAX_BPS;
        uint256 pool = slash.slashed - slash.bounty - slash.slashed * params.burnBps / MAX_BPS;
        // slither-disable-next-line divide-before-multiply (the remainder is burned, not lost)
        slash.perUnit = reserved == 0 ? 0 : pool / reserved;
        slash.held = slash.perUnit * reserved;
        slash.burned = slash.slashed - slash.bounty - slash.held;
    }

    /// @dev A heartbeat: telemetry, status by the watt limit, and energy. The node's and its
    ///      class's words are read and written by hand (bit offsets in the NodeHot and
    ///      ClassConfig comments): two cold SLOADs and two warm SSTOREs.
    ///      Energy rule. The credited interval is the time since the last heartbeat (or the
    ///      registration), capped at the heartbeat timeout: a node silent for longer is, by the
    ///      registry's own rule, presumed dead, so its last reading is never stretched over the
    ///      gap (the agent's `watts` is its average power since its previous reading).
    ///      Without a counter (energyJ == 0: estimated power), it earns watts x interval and any
    ///      counter baseline is dropped. With the node's own monotonic counter (measured: NVML,
    ///      RAPL), it earns the counter's increase since the last heartbeat, at most MAX_WATTS x
    ///      interval (so no counter can inflate the totals beyond what the power field could
    ///      say; the baseline then moves by the credited part only, and later heartbeats credit
    ///      the rest, unless the increase exceeds MAX_WATTS x the timeout: a glitch, credited as
    ///      watts x interval with the counter as the new baseline); the first counter after none
    ///      sets the baseline and earns watts x interval; the class totals saturate at 2^64 - 1; a
    ///      counter below the baseline is refused (NodeRegistryEnergyCounterBackwards): an agent
    ///      that lost its counter sends one heartbeat without it, which drops the baseline.
    function _beat(uint256 nodeId, uint256 loadBps, uint256 watts, uint256 counter) private {
        // the three ranges in one branch (MAX_BPS, MAX_WATTS, 2^64 - 1 as literals): the
        // network's most frequent call pays for no short-circuit jumps
        bool outOfRange;
        assembly ("memory-safe") {
            outOfRange := or(or(gt(loadBps, 10000), gt(watts, 0xffffff)), gt(counter, 0xffffffffffffffff))
        }
        if (outOfRange) _revertTelemetry(loadBps, watts, counter);
        (uint256 slot, uint256 word) = _nodeWord(msg.sender, nodeId);
        uint256 status = uint8(word >> _STATUS_SHIFT);
        // an empty word (status None) is not the owner's, or no such node
        if ((_BEATING_STATUSES >> status) & 1 == 0) _revertNotLive(nodeId, status);
        (uint256 classSlot, uint256 classWord) = _classWord(uint16(word >> _CLASS_SHIFT));
        uint256 next = status;
        if (status != uint256(Status.Exiting)) {
            // Active (1), or Throttled (2) above a class watt limit (0: none), without branches
            assembly ("memory-safe") {
                let limit := and(shr(80, classWord), 0xffffff)
                next := add(1, and(gt(watts, limit), gt(limit, 0)))
            }
            if (next != status) emit NodeStatusChanged(nodeId, Status(status), Status(next));
        }
        uint256 earned;
        uint256 energy;
        // unchecked: lastHeartbeatAt <= now; watts < 2^24 and the interval <= the class's copy of
        // the heartbeat timeout (< 2^24), so watts x interval < 2^48; counter >= baseline where
        // subtracted; the totals stay below 2^65 before their 64-bit checks
        unchecked {
            uint256 interval = block.timestamp - uint32(word);
            uint256 timeout = uint24(classWord >> 104);
            if (interval > timeout) interval = timeout;
            uint256 baseline = uint64(word >> _COUNTER_SHIFT);
            // slither-disable-next-line incorrect-equality (0: no counter, or no baseline yet)
            if (counter * baseline == 0) {
                earned = watts * interval;
            } else {
                if (counter < baseline) revert NodeRegistryEnergyCounterBackwards(nodeId, counter, baseline);
                earned = counter - baseline;
                uint256 most = MAX_WATTS * interval;
                if (earned > most) {
                    if (earned <= MAX_WATTS * timeout) {
                        // A short interval: the baseline moves only by what was credited, later
                        // heartbeats credit the rest (two beats in one second lose nothing).
                        earned = most;
                        counter = baseline + most;
                    } else {
                        // A jump no power could explain even over a whole timeout (a counter
                        // glitch): the beat is credited as estimated and the counter is the
                        // new baseline, so one glitch is never paid out beat after beat.
                        earned = watts * interval;
                    }
                }
            }
            energy = uint64(word >> _ENERGY_SHIFT) + earned;
        }
        if (energy > type(uint64).max) revert NodeRegistryEnergyCounterOutOfRange(energy, type(uint64).max);
        word = (word & _KEEP_MASK) | block.timestamp | (watts << _WATTS_SHIFT) | (loadBps << _LOAD_SHIFT)
            | (next << _STATUS_SHIFT) | (energy << _ENERGY_SHIFT) | (counter << _COUNTER_SHIFT);
        assembly ("memory-safe") {
            sstore(slot, word)
        }
        // The class totals: energyJ (bits 128-191) and measuredJ (192-255) grow by `earned`
        // (measuredJ only when the beat carried a counter). Both stay below 2^64 + 2^48
        // before saturating at 2^64 - 1 J (5 TWh) rather than reverting: a full class total
        // must never stop its nodes' heartbeats (they would be failed and slashed for it).
        // Written on every beat: a beat that credits nothing (same second, 0 W) rewrites the
        // same value for 100 gas, which the credited beats save in the branch.
        assembly ("memory-safe") {
            let max := 0xffffffffffffffff
            let classEnergy := add(and(shr(_CLASS_ENERGY_SHIFT, classWord), max), earned)
            if gt(classEnergy, max) { classEnergy := max }
            let classMeasured := add(shr(_CLASS_MEASURED_SHIFT, classWord), mul(earned, gt(counter, 0)))
            if gt(classMeasured, max) { classMeasured := max }
            classWord := or(
                and(classWord, 0xffffffffffffffffffffffffffffffff),
                or(shl(_CLASS_ENERGY_SHIFT, classEnergy), shl(_CLASS_MEASURED_SHIFT, classMeasured))
            )
            sstore(classSlot, classWord)
        }
        // HeartbeatRecorded(nodeId, telemetry): the node word without its timestamp (the block's;
        // INodeRegistry documents the layout). One data word instead of four typed ones saves
        // 768 gas of log data on the network's most frequent transaction.
        bytes32 topic = _HEARTBEAT_TOPIC;
        uint256 telemetry = word >> _WATTS_SHIFT;
        assembly ("memory-safe") {
            mstore(0x00, telemetry) // scratch space: the log reads it at once
            log2(0x00, 0x20, topic, nodeId)
        }
    }

    /// @dev The revert of a heartbeat with a field out of range.
    function _revertTelemetry(uint256 loadBps, uint256 watts, uint256 counter) private pure {
        if (loadBps > MAX_BPS) revert NodeRegistryLoadOutOfRange(loadBps, MAX_BPS);
        if (watts > MAX_WATTS) revert NodeRegistryWattsOutOfRange(watts, MAX_WATTS);
        revert NodeRegistryEnergyCounterOutOfRange(counter, type(uint64).max);
    }

    /// @dev The revert of a heartbeat for a node that is not live or not the caller's.
    function _revertNotLive(uint256 nodeId, uint256 status) private view {
        if (status == uint256(Status.None)) _revertNotOwner(nodeId, _owners[nodeId]);
        revert NodeRegistryInvalidStatus(nodeId, Status(status));
    }

    /// @dev The storage slot and word of `owner`'s node `nodeId` (`_hot[owner][nodeId]`).
    function _nodeWord(address owner, uint256 nodeId) private view returns (uint256 slot, uint256 word) {
        mapping(uint256 => NodeHot) storage mine = _hot[owner];
        assembly ("memory-safe") {
            mstore(0x00, nodeId)
            mstore(0x20, mine.slot)
            slot := keccak256(0x00, 0x40)
            word := sload(slot)
        }
    }

    /// @dev The storage slot and word of class `classId` (`_classes[classId]`).
    function _classWord(uint256 classId) private view returns (uint256 slot, uint256 word) {
        mapping(uint16 => ClassConfig) storage classes = _classes;
        assembly ("memory-safe") {
            mstore(0x00, classId)
            mstore(0x20, classes.slot)
            slot := keccak256(0x00, 0x40)
            word := sload(slot)
        }
    }

    function _release(uint256 nodeId, uint256 units) private {
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

    function _setParameters(Parameters memory params) private {
        _checkRange("heartbeatTimeout", params.heartbeatTimeout, MIN_HEARTBEAT_TIMEOUT, MAX_HEARTBEAT_TIMEOUT);
        _checkRange("unbondingPeriod", params.unbondingPeriod, MIN_UNBONDING_PERIOD, MAX_UNBONDING_PERIOD);
        _checkRange("failureGrace", params.failureGrace, MIN_FAILURE_GRACE, MAX_FAILURE_GRACE);
        _checkRange("slashBps", params.slashBps, MIN_SLASH_BPS, MAX_SLASH_BPS);
        _checkRange("reporterBountyBps", params.reporterBountyBps, 0, MAX_BOUNTY_BPS);
        _checkRange("burnBps", params.burnBps, MIN_BURN_BPS, MAX_BPS - params.reporterBountyBps);
        _params = params;
        // every class keeps a copy of the timeout for the heartbeat's energy cap (few classes)
        uint256 count = _classNames.length;
        for (uint256 classId = 1; classId <= count; ++classId) {
            // count <= MAX_CLASSES, heartbeatTimeout <= 1 day
            _classes[uint16(classId)].heartbeatTimeout = uint24(params.heartbeatTimeout);
        }
        emit ParametersSet(
            params.heartbeatTimeout,
            params.unbondingPeriod,
            params.slashBps,
            params.reporterBountyBps,
            params.failureGrace,
            params.burnBps
        );
    }

    function _checkRange(bytes32 name, uint256 value, uint256 minimum, uint256 maximum) private pure {
        if (value < minimum || value > maximum) {
            revert NodeRegistryParameterOutOfRange(name, value, minimum, maximum);
        }
    }

    /// @dev Owner check for actions on a node that still takes work (Active or Throttled).
    function _requireOwnerOfLiveNode(uint256 nodeId) private view returns (Status status) {
        status = _hot[msg.sender][nodeId].status;
        if (status == Status.None) _revertNotOwner(nodeId, _owners[nodeId]);
        if (status != Status.Active && status != Status.Throttled) {
            revert NodeRegistryInvalidStatus(nodeId, status);
        }
    }

    function _revertNotOwner(uint256 nodeId, address owner) private view {
        if (owner == address(0)) revert NodeRegistryUnknownNode(nodeId);
        revert NodeRegistryNotOwner(nodeId, msg.sender, owner);
    }
}
