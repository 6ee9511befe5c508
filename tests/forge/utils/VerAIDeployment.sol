// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {VerToken} from "../../../contracts/VerToken.sol";
import {NodeRegistry} from "../../../contracts/NodeRegistry.sol";
import {INodeRegistry} from "../../../contracts/interfaces/INodeRegistry.sol";
import {IVerToken} from "../../../contracts/interfaces/IVerToken.sol";
import {VerAITest} from "./VerAITest.sol";

/// @title VerAIDeployment
/// @notice Deploys the system the way scripts/deploy.py wires it, for forge tests. Invariant
///         suites inherit it; a new contract gets a `_deploy<Name>` step here and its handler in
///         invariant/handlers/ (see tests/forge/README.md).
abstract contract VerAIDeployment is VerAITest {
    bytes32 internal constant CLASS_GPU = keccak256("GPU-A100-80G");
    bytes32 internal constant CLASS_CPU = keccak256("CPU-X86-32C");
    uint256 internal constant GPU_MIN_STAKE = 1_000e18;
    uint256 internal constant GPU_WATT_LIMIT = 700;
    uint256 internal constant CPU_MIN_STAKE = 10e18;
    /// @dev Seconds between the start and the acceptance of an admin transfer.
    uint48 internal constant ADMIN_DELAY = 1 days;

    /// @dev Start of every run: a realistic time, far from 0 and from the uint32 limit.
    uint256 internal constant START_TIME = 1_767_225_600; // 2026-01-01

    address internal admin = makeAddr("admin");
    VerToken internal ver;
    NodeRegistry internal registry;

    function _deployToken() internal virtual {
        ver = new VerToken(admin);
    }

    /// @dev The registry's initial governance parameters (handlers model them from here too).
    function _registryParameters() internal pure returns (INodeRegistry.Parameters memory) {
        return INodeRegistry.Parameters({
            heartbeatTimeout: 300,
            unbondingPeriod: 3600,
            slashBps: 1000,
            reporterBountyBps: 1000,
            failureGrace: 60,
            burnBps: 5000
        });
    }

    function _deployRegistry() internal {
        registry = new NodeRegistry(IVerToken(address(ver)), admin, ADMIN_DELAY, _registryParameters());
        vm.startPrank(admin);
        registry.setClassConfig(CLASS_GPU, GPU_MIN_STAKE, GPU_WATT_LIMIT);
        registry.setClassConfig(CLASS_CPU, CPU_MIN_STAKE, 0);
        vm.stopPrank();
    }
}
