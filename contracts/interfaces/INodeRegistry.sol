// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title INodeRegistry
/// @notice Contributors register compute nodes (one resource class each), stake VER, send cheap
///         heartbeats carrying telemetry, and exit after an unbonding period. Anyone may report a
///         node whose heartbeats stopped; part of its stake pays the reporter and the rest is held
///         to compensate the developers whose work ran on it. The market reserves and releases
///         capacity as it assigns work.
/// @dev Units: capacity in whole units of a class, prices in VER wei per unit-hour, time in
///      seconds, load in basis points (0..10000), power in watts.
interface INodeRegistry {
    // ------------------------------------------------------------------ types

    /// @notice Life cycle of a node.
    /// @dev Active <-> Throttled follows the watt limit of the class at each heartbeat.
    ///      Active/Throttled -> Exiting (owner) -> Exited (withdraw after unbonding).
    ///      Active/Throttled/Exiting -> Failed (anyone, after the heartbeat timeout); terminal: a
    ///      failed node never becomes Active again, its owner registers a new node instead.
    enum Status {
        None,
        Active,
        Throttled,
        Failed,
        Exiting,
        Exited
    }

    /// @notice Everything known about a node, as returned by `getNode`.
    struct NodeView {
        address owner;
        bytes32 resourceClass;
        Status status;
        uint32 capacity;
        uint32 reserved;
        uint96 pricePerUnitHour;
        uint96 stake;
        uint32 lastHeartbeatAt;
        uint16 loadBps;
        uint32 watts;
        uint32 unbondingEndsAt;
    }

    /// @notice Governance parameters shared by all classes.
    struct Parameters {
        uint32 heartbeatTimeout; // seconds without a heartbeat before anyone may report failure
        uint32 unbondingPeriod; // seconds between exit (or failure) and stake withdrawal
        uint16 slashBps; // share of the stake slashed on failure, in basis points
        uint16 reporterBountyBps; // share of the slashed amount paid to the reporter
    }

    // ------------------------------------------------------------------ errors

    /// @notice Thrown when `resourceClass` was never configured by governance.
    error NodeRegistryUnknownClass(bytes32 resourceClass);
    /// @notice Thrown when the stake is below the minimum of the class.
    error NodeRegistryInsufficientStake(bytes32 resourceClass, uint256 given, uint256 minimum);
    /// @notice Thrown when a capacity of zero (or beyond uint32) is given.
    error NodeRegistryInvalidCapacity(uint256 capacity);
    /// @notice Thrown when a price of zero (or beyond uint96) is given.
    error NodeRegistryInvalidPrice(uint256 price);
    /// @notice Thrown when `owner` already has a live node of `class` (one per owner and class).
    error NodeRegistryAlreadyRegistered(address owner, bytes32 resourceClass, uint256 nodeId);
    /// @notice Thrown when `nodeId` does not exist.
    error NodeRegistryUnknownNode(uint256 nodeId);
    /// @notice Thrown when `caller` acts for a node owned by `owner`.
    error NodeRegistryNotOwner(uint256 nodeId, address caller, address owner);
    /// @notice Thrown when the node's status does not allow the action.
    error NodeRegistryInvalidStatus(uint256 nodeId, Status status);
    /// @notice Thrown when a load above 10000 basis points is reported.
    error NodeRegistryLoadOutOfRange(uint256 loadBps, uint256 maximum);
    /// @notice Thrown when a power reading does not fit the telemetry field.
    error NodeRegistryWattsOutOfRange(uint256 watts, uint256 maximum);
    /// @notice Thrown when reportFailure comes before the heartbeat timeout; says how long is left.
    error NodeRegistryHeartbeatNotExpired(uint256 nodeId, uint256 secondsRemaining);
    /// @notice Thrown when withdraw comes before the unbonding period ends; says how long is left.
    error NodeRegistryStillUnbonding(uint256 nodeId, uint256 secondsRemaining);
    /// @notice Thrown when stake is withdrawn while the market still holds capacity of the node.
    error NodeRegistryCapacityStillReserved(uint256 nodeId, uint256 reserved);
    /// @notice Thrown when there is nothing left to withdraw or claim.
    error NodeRegistryNothingToWithdraw(uint256 nodeId);
    /// @notice Thrown when the market asks for more units than are free.
    error NodeRegistryInsufficientFreeCapacity(uint256 nodeId, uint256 requested, uint256 free);
    /// @notice Thrown when the market releases more units than it reserved.
    error NodeRegistryReleaseExceedsReserved(uint256 nodeId, uint256 released, uint256 reserved);
    /// @notice Thrown when a capacity update would fall below the units already reserved.
    error NodeRegistryCapacityBelowReserved(uint256 nodeId, uint256 capacity, uint256 reserved);
    /// @notice Thrown when a governance parameter is out of its range.
    error NodeRegistryInvalidParameter(bytes32 name, uint256 value);
    /// @notice Thrown when the class table is full.
    error NodeRegistryTooManyClasses(uint256 maximum);

    // ------------------------------------------------------------------ events

    /// @notice Emitted when a node is registered and its stake pulled.
    event NodeRegistered(
        uint256 indexed nodeId,
        address indexed owner,
        bytes32 indexed resourceClass,
        uint256 capacity,
        uint256 pricePerUnitHour,
        uint256 stake,
        string metadataURI
    );
    /// @notice Emitted on every heartbeat, carrying the node's telemetry.
    event HeartbeatRecorded(uint256 indexed nodeId, uint16 loadBps, uint24 watts);
    /// @notice Emitted whenever a node's status changes.
    event NodeStatusChanged(uint256 indexed nodeId, Status from, Status to);
    /// @notice Emitted when the owner changes the price.
    event PriceUpdated(uint256 indexed nodeId, uint256 oldPrice, uint256 newPrice);
    /// @notice Emitted when the owner changes the capacity.
    event CapacityUpdated(uint256 indexed nodeId, uint256 oldCapacity, uint256 newCapacity);
    /// @notice Emitted when the owner adds stake.
    event StakeAdded(uint256 indexed nodeId, uint256 amount, uint256 newStake);
    /// @notice Emitted when the owner starts the exit of a node.
    event ExitRequested(uint256 indexed nodeId, uint256 unbondingEndsAt);
    /// @notice Emitted when the remaining stake is paid back to the owner.
    event StakeWithdrawn(uint256 indexed nodeId, address indexed owner, uint256 amount);
    /// @notice Emitted when a node is reported failed and its stake slashed.
    event NodeFailed(
        uint256 indexed nodeId,
        address indexed reporter,
        uint256 slashed,
        uint256 bounty,
        uint256 compensationHeld
    );
    /// @notice Emitted when the market takes the compensation held for a failed node.
    event CompensationClaimed(uint256 indexed nodeId, address indexed to, uint256 amount);
    /// @notice Emitted when the market reserves capacity for an assignment.
    event CapacityReserved(uint256 indexed nodeId, uint256 units, uint256 reserved);
    /// @notice Emitted when the market releases capacity of a closed assignment.
    event CapacityReleased(uint256 indexed nodeId, uint256 units, uint256 reserved);
    /// @notice Emitted when governance adds or changes a resource class.
    event ClassConfigured(bytes32 indexed resourceClass, uint256 minStake, uint256 wattLimit);
    /// @notice Emitted when governance changes the shared parameters.
    event ParametersSet(
        uint256 heartbeatTimeout, uint256 unbondingPeriod, uint256 slashBps, uint256 reporterBountyBps
    );

    // ------------------------------------------------------------------ contributor actions

    /// @notice Registers a node of `class`, pulling `stake` VER from the caller (approve first).
    /// @param resourceClass the resource class, e.g. keccak256("GPU-A100-80G")
    /// @param capacity whole units of the class the node offers (> 0)
    /// @param pricePerUnitHour asking price in VER wei per unit-hour (> 0)
    /// @param stake VER wei to stake, at least the class minimum
    /// @param metadataURI where the node describes itself (emitted, not stored)
    /// @return nodeId the new node's id (ids start at 1)
    function register(
        bytes32 resourceClass,
        uint256 capacity,
        uint256 pricePerUnitHour,
        uint256 stake,
        string calldata metadataURI
    ) external returns (uint256 nodeId);

    /// @notice Same as `register`, approving the stake with an ERC-2612 permit signature.
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
    ) external returns (uint256 nodeId);

    /// @notice Records that the node is alive, with its load and power draw. A node drawing more
    ///         than its class's watt limit becomes Throttled (no new work) until it is back under.
    function heartbeat(uint256 nodeId, uint256 loadBps, uint256 watts) external;

    /// @notice Changes the asking price; running assignments keep the price they were made with.
    function updatePrice(uint256 nodeId, uint256 newPrice) external;

    /// @notice Changes the capacity; it may not fall below the units currently reserved.
    function updateCapacity(uint256 nodeId, uint256 newCapacity) external;

    /// @notice Adds `amount` VER to the node's stake (approve first).
    function addStake(uint256 nodeId, uint256 amount) external;

    /// @notice Starts the exit: the node takes no new work and its stake unbonds.
    function requestExit(uint256 nodeId) external;

    /// @notice Pays the remaining stake back to the owner once unbonding is over (after an exit or
    ///         a failure) and no capacity is reserved.
    function withdraw(uint256 nodeId) external;

    // ------------------------------------------------------------------ anyone

    /// @notice Marks a node whose last heartbeat is older than the timeout as Failed, slashes its
    ///         stake, pays the caller the bounty and holds the rest for compensation.
    function reportFailure(uint256 nodeId) external;

    // ------------------------------------------------------------------ market role

    /// @notice Reserves `units` of an Active node's free capacity for an assignment.
    function reserve(uint256 nodeId, uint256 units) external;

    /// @notice Releases `units` previously reserved on the node.
    function release(uint256 nodeId, uint256 units) external;

    /// @notice Transfers the compensation held for a failed node to `to`; returns the amount.
    function claimCompensation(uint256 nodeId, address to) external returns (uint256 amount);

    // ------------------------------------------------------------------ governance

    /// @notice Adds or changes a resource class: minimum stake and watt limit (0 = no limit).
    function setClassConfig(bytes32 resourceClass, uint256 minStake, uint256 wattLimit) external;

    /// @notice Changes the shared parameters.
    function setParameters(Parameters calldata params) external;

    // ------------------------------------------------------------------ views

    /// @notice The node `nodeId`; reverts NodeRegistryUnknownNode when it does not exist.
    function getNode(uint256 nodeId) external view returns (NodeView memory);

    /// @notice Units of the node not reserved by the market.
    function freeCapacity(uint256 nodeId) external view returns (uint256);

    /// @notice The live node of `owner` in `class`, or 0.
    function nodeOf(address owner, bytes32 resourceClass) external view returns (uint256);

    /// @notice How many nodes were ever registered (ids run from 1 to nodeCount).
    function nodeCount() external view returns (uint256);

    /// @notice The configuration of `class` (configured = false when unknown).
    function classConfig(bytes32 resourceClass)
        external
        view
        returns (bool configured, uint256 minStake, uint256 wattLimit);

    /// @notice The shared governance parameters.
    function parameters() external view returns (Parameters memory);

    /// @notice Compensation held for the failed node, not yet claimed by the market.
    function compensationHeld(uint256 nodeId) external view returns (uint256);

    /// @notice Sum of all stakes held plus all compensation held: the VER this contract must own.
    function totalHeld() external view returns (uint256 stakes, uint256 compensation);
}
