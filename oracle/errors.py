"""The root of every error the oracle package raises on purpose.

Each module defines its own subclasses (``AllocationError``, ``InvalidProof``, ...) so callers can
catch one family or all of them with ``except OracleError``.
"""


class OracleError(Exception):
    """Base class of every error raised by the ``oracle`` package."""
