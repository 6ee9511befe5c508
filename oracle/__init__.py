"""VerAI network off-chain side: the oracle committee, allocation engine and node agent."""

from oracle.errors import OracleError

__all__ = ["OracleError"]
__version__ = "0.1.0"
