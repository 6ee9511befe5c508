// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title INodeRegistry
/// @notice Contributors register compute nodes (one resource class each), stake VER, send cheap
///         heartbeats carrying telemetry, and exit after an unbonding period. Anyone may report a
///         node whose heartbeats stopped: a first report raises a suspicion, and once the node has
///         let a grace period pass without a heartbeat a second report fails it; part of its
///         stake pays the first reporter, part is burned, and the rest is held, per reserved unit,
///         to compensate the developers whose work ran on it. The market reserves and releases
///         capacity as it assigns work. The registry is also the network's governance root: its
///         admin (two-step transfer with a delay) holds the roles of the market (MARKET_ROLE),
///         of the committee's verifier (ALLOCATOR_ROLE, checked by the TaskMarket) and of the
///         emergency pause (PAUSER_ROLE), and sets the parameters within on-chain bounds.
/// @dev Units: capacity in whole units of a class, prices in VER wei per unit-hour, time in
///      seconds, load in basis points (0..10000), power in watts.
///      Every storage change is visible in an event, so the registry's state can be rebuilt from
///      logs alone:
///        getNode.owner/resourceClass/capacity/price/stake  NodeRegistered, then PriceUpdated,
///                                       CapacityUpdated, StakeAdded, NodeFailed (stake -=
///                                       slashed), StakeWithdrawn (stake = 0)
///        getNode.status                 NodeRegistered (Active), then NodeStatusChanged
///        getNode.reserved               CapacityReserved / CapacityReleased (`reserved` field)
///        getNode.lastHeartbeatAt/loadBps/watts  NodeRegistered (registration block time, 0, 0),
///                                       then HeartbeatRecorded (its block time)
///        energyOf.energyJ/counterJ      HeartbeatRecorded.energyJ / .counterJ (0 before the
///                                       first heartbeat); measured = counterJ != 0
///        energyOf.renewableBps          RenewableShareDeclared.shareBps (0 before any)
///        energyTotals                   per class: the sum of energyJ over its nodes' latest
///                                       HeartbeatRecorded; measuredJ: the sum of the increases
///                                       of energyJ on heartbeats with counterJ != 0; network:
///                                       the sums over the classes
///        getNode.unbondingEndsAt        ExitRequested, NodeFailed (block time + the unbonding
///                                       period of ParametersSet in force then)
///        suspicionOf                    NodeSuspected; void once a later HeartbeatRecorded of the
///                                       node exists (or when NodeFailed follows)
///        compensationHeld/PerUnit       NodeFailed (compensationHeld, compensationPerUnit), minus
///                                       CompensationClaimed
///        parameters / classConfig       ParametersSet / ClassConfigured
///        paused                         Paused / Unpaused (OpenZeppelin Pausable)
///        roles and admin                RoleGranted / RoleRevoked and the DefaultAdmin* events of
///                                       OpenZeppelin AccessControlDefaultAdminRules
interface INodeRegistry {
    // ------------------------------------------------------------------ types

    /// @notice Life cycle of a node.
    /// @dev Active <-> Throttled follows the watt limit of the class at each heartbeat.
    ///      Active/Throttled -> Exiting (owner) -> Exited (withdraw after unbonding).
    ///      Active/Throttled/Exiting -> Failed (anyone: a suspicion after the heartbeat timeout,
    ///      then a report once the failure grace has passed without a heartbeat; an Exiting node
    ///      with nothing reserved cannot fail: it has no work to protect); terminal: a failed
    ///      node never becomes Active again, its owner registers a new node instead.
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

    /// @notice Governance parameters shared by all classes, each bounded on-chain (see
    ///         `setParameters`). A failure uses the parameters in force when it is reported;
    ///         a later change never applies to it.
    struct Parameters {
        uint32 heartbeatTimeout; // seconds without a heartbeat before a node may be suspected
        uint32 unbondingPeriod; // seconds between exit (or failure) and stake withdrawal
        uint16 slashBps; // share of the stake slashed on failure, in basis points
        uint16 reporterBountyBps; // share of the slashed amount paid to the reporter
        uint32 failureGrace; // seconds a suspected node has to send a heartbeat
        uint16 burnBps; // share of the slashed amount burned (never paid to anyone)
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
    /// @notice Thrown when reportFailure comes while a suspicion's grace period runs; says how
    ///         long is left.
    error NodeRegistryFailureGracePeriod(uint256 nodeId, uint256 secondsRemaining);
    /// @notice Thrown when an Exiting node with nothing reserved is reported: it runs no work, so
    ///         it need not heartbeat.
    error NodeRegistryNothingAtRisk(uint256 nodeId);
    /// @notice Thrown when withdraw comes before the unbonding period ends; says how long is left.
    error NodeRegistryStillUnbonding(uint256 nodeId, uint256 secondsRemaining);
    /// @notice Thrown when stake is withdrawn while the market still holds capacity of the node.
    error NodeRegistryCapacityStillReserved(uint256 nodeId, uint256 reserved);
    /// @notice Thrown when there is nothing left to withdraw.
    error NodeRegistryNothingToWithdraw(uint256 nodeId);
    /// @notice Thrown when the market asks for more units than are free.
    error NodeRegistryInsufficientFreeCapacity(uint256 nodeId, uint256 requested, uint256 free);
    /// @notice Thrown when the market releases more units than it reserved.
    error NodeRegistryReleaseExceedsReserved(uint256 nodeId, uint256 released, uint256 reserved);
    /// @notice Thrown when a capacity update would fall below the units already reserved.
    error NodeRegistryCapacityBelowReserved(uint256 nodeId, uint256 capacity, uint256 reserved);
    /// @notice Thrown when a node's stake would not fit its field (uint96).
    error NodeRegistryInvalidParameter(bytes32 name, uint256 value);
    /// @notice Thrown when a governance parameter is outside [minimum, maximum].
    error NodeRegistryParameterOutOfRange(bytes32 name, uint256 value, uint256 minimum, uint256 maximum);
    /// @notice Thrown when the class table is full.
    error NodeRegistryTooManyClasses(uint256 maximum);
    /// @notice Thrown when a heartbeat's energy counter is below the one of the node's previous
    ///         heartbeat (a counter never goes backwards; send one heartbeat without a counter,
    ///         0, to start a new baseline).
    error NodeRegistryEnergyCounterBackwards(uint256 nodeId, uint256 counterJ, uint256 previousJ);
    /// @notice Thrown when an energy counter or an energy total does not fit 64 bits of joules.
    error NodeRegistryEnergyCounterOutOfRange(uint256 value, uint256 maximum);
    /// @notice Thrown when a renewable share above 10000 basis points is declared.
    error NodeRegistryRenewableShareOutOfRange(uint256 shareBps, uint256 maximum);

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
    /// @notice Emitted on every heartbeat, carrying the node's telemetry and energy after it in
    ///         one packed word (the most frequent transaction of the network pays 256 gas of log
    ///         data instead of 1,024), from the least significant bit:
    ///         watts (24) | loadBps (16) | status (8) | classId (16) | energyJ (64) | counterJ (64)
    ///         | renewableBps (16).
    ///         `energyJ` is the node's energy total after this heartbeat (joules); `counterJ` is
    ///         the baseline of the next heartbeat (the counter it sent, or less when the increase
    ///         was capped, the rest being credited later; 0 when the power was estimated);
    ///         `status` is the node's status after it (Active or Throttled by the watt limit, or
    ///         Exiting); `classId` is the registry's index of the node's class and `renewableBps`
    ///         its declared renewable share (as declared). oracle/chain/packed.py unpacks the
    ///         word into these named fields.
    event HeartbeatRecorded(uint256 indexed nodeId, uint256 telemetry);
    /// @notice Emitted when the owner declares the renewable share of the node's supply (a
    ///         declaration, not a measurement), with where the evidence is (a certificate, a
    ///         utility statement; may be empty).
    event RenewableShareDeclared(uint256 indexed nodeId, uint256 shareBps, string evidenceURI);
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
    /// @notice Emitted when a node whose heartbeat timed out is first reported: it fails at the
    ///         next report from `failableAt` on unless it sends a heartbeat before.
    event NodeSuspected(uint256 indexed nodeId, address indexed reporter, uint256 failableAt);
    /// @notice Emitted when a node is failed and its stake slashed: `bounty` went to `reporter`
    ///         (who raised the suspicion), `burned` was burned (the burn share, plus the pool
    ///         when nothing was reserved, plus rounding), and `compensationHeld` =
    ///         `units` (reserved at the failure) x `compensationPerUnit` is held for the
    ///         developers of the running assignments.
    event NodeFailed(
        uint256 indexed nodeId,
        address indexed reporter,
        uint256 slashed,
        uint256 bounty,
        uint256 burned,
        uint256 compensationHeld,
        uint256 units,
        uint256 compensationPerUnit
    );
    /// @notice Emitted when the market takes the compensation of released units of a failed node.
    event CompensationClaimed(uint256 indexed nodeId, address indexed to, uint256 amount);
    /// @notice Emitted when the market reserves capacity for an assignment.
    event CapacityReserved(uint256 indexed nodeId, uint256 units, uint256 reserved);
    /// @notice Emitted when the market releases capacity of a closed assignment.
    event CapacityReleased(uint256 indexed nodeId, uint256 units, uint256 reserved);
    /// @notice Emitted when governance adds or changes a resource class.
    event ClassConfigured(bytes32 indexed resourceClass, uint256 minStake, uint256 wattLimit);
    /// @notice Emitted when governance changes the shared parameters.
    event ParametersSet(
        uint256 heartbeatTimeout,
        uint256 unbondingPeriod,
        uint256 slashBps,
        uint256 reporterBountyBps,
        uint256 failureGrace,
        uint256 burnBps
    );

    // ------------------------------------------------------------------ contributor actions

    /// @notice Registers a node of `class`, pulling `stake` VER from the caller (approve first).
    ///         Refused while the network is paused.
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

    /// @notice Records that the node is alive, with its load and power draw (an estimate: no
    ///         energy counter). Same as `heartbeat(nodeId, loadBps, watts, 0)`.
    function heartbeat(uint256 nodeId, uint256 loadBps, uint256 watts) external;

    /// @notice Records that the node is alive, with its load, its power draw and, when it has
    ///         one, its own monotonic energy counter. A node drawing more than its class's watt
    ///         limit becomes Throttled (no new work) until it is back under. A heartbeat voids any
    ///         suspicion raised before it. Works while paused.
    ///         Energy: the node and its class are credited, for the time since the previous
    ///         heartbeat capped at the heartbeat timeout (a silent node's last reading is never
    ///         stretched over a gap), either watts x that time (no counter: estimated) or the
    ///         counter's increase (measured; at most 2^24 - 1 W x that time, the rest credited
    ///         by later heartbeats; an increase above 2^24 - 1 W x the heartbeat timeout is a
    ///         glitch, credited as watts x time, the counter becoming the baseline; the first
    ///         counter after none earns watts x time and sets the baseline). Class and network
    ///         totals saturate at 2^64 - 1 J.
    /// @param watts average power since the previous heartbeat (0 to 2^24 - 1)
    /// @param energyJ the node's energy counter in joules, never decreasing (0: none)
    function heartbeat(uint256 nodeId, uint256 loadBps, uint256 watts, uint256 energyJ) external;

    /// @notice Declares the renewable share of the node's electricity supply, in basis points (at
    ///         most 10000), with an optional evidence URI (emitted, not stored). Changeable at any
    ///         time by the owner of a live node; always shown as declared.
    function declareRenewableShare(uint256 nodeId, uint256 shareBps, string calldata evidenceURI) external;

    /// @notice Changes the asking price; running assignments keep the price they were made with,
    ///         and allocations made at the old price are skipped (the market pays the ask only).
    function updatePrice(uint256 nodeId, uint256 newPrice) external;

    /// @notice Changes the capacity; it may not fall below the units currently reserved.
    function updateCapacity(uint256 nodeId, uint256 newCapacity) external;

    /// @notice Adds `amount` VER to the node's stake (approve first).
    function addStake(uint256 nodeId, uint256 amount) external;

    /// @notice Starts the exit: the node takes no new work and its stake unbonds. Once nothing is
    ///         reserved on it, it needs no more heartbeats.
    function requestExit(uint256 nodeId) external;

    /// @notice Pays the remaining stake back to the owner once unbonding is over (after an exit or
    ///         a failure) and no capacity is reserved. Works while paused.
    function withdraw(uint256 nodeId) external;

    // ------------------------------------------------------------------ anyone

    /// @notice Reports a node whose last heartbeat is older than the heartbeat timeout, in two
    ///         steps. The first report records a suspicion (NodeSuspected, the caller as
    ///         reporter). A report once the failure grace of that suspicion has passed, with no
    ///         heartbeat since, marks the node Failed and slashes `slashBps` of its stake: the
    ///         suspicion's reporter gets `reporterBountyBps` of it, `burnBps` of it is burned, and
    ///         the rest is split over the units reserved on the node (compensationPerUnit; the
    ///         rounding and, when nothing is reserved, the whole rest are burned too).
    /// @dev The grace is what protects nodes after a gap in block production (a sequencer
    ///      outage): the first report can only be mined once blocks are produced again, so every
    ///      node has at least `failureGrace` seconds after the restart to send a heartbeat.
    ///      Reverts NodeRegistryHeartbeatNotExpired, NodeRegistryFailureGracePeriod,
    ///      NodeRegistryNothingAtRisk (an Exiting node with nothing reserved),
    ///      NodeRegistryInvalidStatus or NodeRegistryUnknownNode. Works while paused.
    ///      Self-dealing bound: an owner that is also the reporter and the developer of every
    ///      task on its node gets back at most slashed x (10000 - burnBps) / 10000.
    function reportFailure(uint256 nodeId) external;

    // ------------------------------------------------------------------ market role

    /// @notice Reserves `units` of an Active node's free capacity for an assignment.
    function reserve(uint256 nodeId, uint256 units) external;

    /// @notice Releases `units` previously reserved on the node, owned by `owner` (the owner the
    ///         market recorded for the assignment: one warm read finds the node's status).
    /// @dev Reverts NodeRegistryInvalidStatus when `owner` does not own the node (status None) or
    ///      when the node is Failed: a failed node's units leave only with their compensation,
    ///      by `claimCompensation`, so compensationHeld == reserved x compensationPerUnit always
    ///      holds. NodeRegistryReleaseExceedsReserved when `units` exceeds the reserved units.
    function release(uint256 nodeId, address owner, uint256 units) external;

    /// @notice Releases `units` reserved on the Failed node and transfers their compensation,
    ///         units x compensationPerUnit, to `to`; returns the amount.
    function claimCompensation(uint256 nodeId, uint256 units, address to) external returns (uint256 amount);

    // ------------------------------------------------------------------ governance

    /// @notice Adds or changes a resource class: minimum stake (1 VER to 2^80 - 1 wei, 1.2 million
    ///         VER) and watt limit (0 = no limit, at most 2^24 - 1). Its energy totals are kept.
    function setClassConfig(bytes32 resourceClass, uint256 minStake, uint256 wattLimit) external;

    /// @notice Changes the shared parameters. Bounds (NodeRegistryParameterOutOfRange otherwise):
    ///         heartbeatTimeout 60 s..1 day, unbondingPeriod 1 hour..90 days, failureGrace
    ///         60 s..1 day, slashBps 100..5000, reporterBountyBps 0..5000, burnBps 2500..10000 -
    ///         reporterBountyBps.
    function setParameters(Parameters calldata params) external;

    /// @notice Stops registrations and, in the TaskMarket, new tasks, top-ups and allocations
    ///         (PAUSER_ROLE). Heartbeats, reports, checkpoints, completions, settlements,
    ///         withdrawals, refunds and claims keep working.
    function pause() external;

    /// @notice Lifts the pause (PAUSER_ROLE).
    function unpause() external;

    // ------------------------------------------------------------------ views

    /// @notice Whether the network is paused (see `pause`).
    function paused() external view returns (bool);

    /// @notice The node `nodeId`; reverts NodeRegistryUnknownNode when it does not exist.
    function getNode(uint256 nodeId) external view returns (NodeView memory);


    /// @notice The status of node `nodeId` if `owner` owns it, else None: one storage read, for
    ///         the market, which knows each assignment's node owner.
    function statusOf(address owner, uint256 nodeId) external view returns (Status);

    /// @notice The node's energy: joules credited from its heartbeats, the energy counter of its
    ///         last heartbeat (0: its power was estimated), whether it is measured (a counter),
    ///         and its declared renewable share in basis points. Zeros for an unknown node.
    function energyOf(uint256 nodeId)
        external
        view
        returns (uint256 energyJ, uint256 counterJ, bool measured, uint256 renewableBps);

    /// @notice The network's energy in one call: its total and measured part, and the same per
    ///         class (class ids 1.. in `classes` order). Each class's totals are exactly the sums
    ///         over its nodes (`energyOf`) up to 2^64 - 1 J, where they saturate; the network's,
    ///         the sums over the classes.
    function energyTotals()
        external
        view
        returns (
            uint256 energyJ,
            uint256 measuredJ,
            bytes32[] memory classes,
            uint256[] memory classEnergyJ,
            uint256[] memory classMeasuredJ
        );

    /// @notice What the market checks before it assigns work to the node: its owner, the id of
    ///         its class (see `classIdOf`), status, free units and asking price. Zeros for an
    ///         unknown node.
    function nodeOffer(uint256 nodeId)
        external
        view
        returns (address owner, uint256 classId, Status status, uint256 free, uint256 pricePerUnitHour);

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

    /// @notice The id of a configured class (1, 2, ... in the order governance added them), or 0.
    function classIdOf(bytes32 resourceClass) external view returns (uint256);

    /// @notice The class of id `classId` (bytes32(0) when there is none).
    function classAt(uint256 classId) external view returns (bytes32);

    /// @notice The shared governance parameters.
    function parameters() external view returns (Parameters memory);

    /// @notice The live suspicion of the node: who raised it, when, and from when the node may be
    ///         failed; zeros when there is none (never raised, or voided by a later heartbeat).
    function suspicionOf(uint256 nodeId)
        external
        view
        returns (address reporter, uint256 suspectedAt, uint256 failableAt);

    /// @notice Compensation held for the failed node, not yet claimed by the market:
    ///         reserved units x compensationPerUnit.
    function compensationHeld(uint256 nodeId) external view returns (uint256);

    /// @notice Compensation per reserved unit, fixed when the node failed (0 otherwise).
    function compensationPerUnit(uint256 nodeId) external view returns (uint256);

    /// @notice Sum of all stakes held plus all compensation held: the VER this contract must own.
    function totalHeld() external view returns (uint256 stakes, uint256 compensation);
}
