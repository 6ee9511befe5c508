// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {VerToken} from "../../../contracts/VerToken.sol";
import {NodeRegistry} from "../../../contracts/NodeRegistry.sol";
import {INodeRegistry} from "../../../contracts/interfaces/INodeRegistry.sol";
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
            heartbeatTimeout: 300, unbondingPeriod: 3600, slashBps: 1000, reporterBountyBps: 1000
        });
    }

    function _deployRegistry() internal {
        registry = new NodeRegistry(IERC20(address(ver)), admin, _registryParameters());
        vm.startPrank(admin);
        registry.setClassConfig(CLASS_GPU, GPU_MIN_STAKE, GPU_WATT_LIMIT);
        registry.setClassConfig(CLASS_CPU, CPU_MIN_STAKE, 0);
        vm.stopPrank();
    }
}
