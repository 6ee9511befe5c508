"""VerAI network off-chain side: the oracle committee, allocation engine and node agent."""

from oracle.errors import OracleError
from oracle.observe import logs as _logs  # noqa: F401  (log records that never raise)

__all__ = ["OracleError"]
__version__ = "0.1.0"
