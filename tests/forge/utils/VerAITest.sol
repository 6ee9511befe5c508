// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TestBase} from "forge-std/Base.sol";
import {StdAssertions} from "forge-std/StdAssertions.sol";
import {StdChains} from "forge-std/StdChains.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdInvariant} from "forge-std/StdInvariant.sol";
import {StdUtils} from "forge-std/StdUtils.sol";

/// @title VerAITest
/// @notice forge-std's `Test` without the console libraries. Importing forge-std/Test.sol pulls in
///         safeconsole.sol, whose 179 deprecation warnings under solc 0.8.37 push the build over
///         solc's cap of 256 reported warnings, so warnings in our own files would go unseen.
///         Every forge test here inherits this instead (import console2 in a file while debugging).
abstract contract VerAITest is TestBase, StdAssertions, StdChains, StdCheats, StdInvariant, StdUtils {
    /// @dev forge runs the contracts whose IS_TEST() is true.
    bool public IS_TEST = true;
}
