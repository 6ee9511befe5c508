"""Structured log lines: one JSON object per line (or readable text), with the context of the
current step (round, block, assignment ...) on every line.

    log = get_logger("oracle.service.round")
    with log_context(round=7, block=1234):
        log.info("proposal sent", extra={"entries": 3})
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any

_CONTEXT: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("verai_log_context")
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class _FieldSafeLogger(logging.Logger):
    """A logger whose `extra` fields may be named like LogRecord attributes ("created",
    "name" ...): they are written as "field_<name>" instead of raising KeyError mid-cycle."""

    def makeRecord(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        extra = kwargs.get("extra") if "extra" in kwargs else (args[8] if len(args) > 8 else None)
        if extra:
            safe = {(f"field_{k}" if k in _STANDARD else k): v for k, v in extra.items()}
            if "extra" in kwargs:
                kwargs["extra"] = safe
            else:
                args = (*args[:8], safe, *args[9:])
        return super().makeRecord(*args, **kwargs)


logging.setLoggerClass(_FieldSafeLogger)


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Adds `fields` to every log line written inside the block (nested blocks add up)."""
    current = _CONTEXT.get({})
    token = _CONTEXT.set({**current, **fields})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    extra = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
    return {**_CONTEXT.get({}), **extra}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        fields = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        text = f"{stamp} {record.levelname.lower():<7} {record.name}: {record.getMessage()}"
        if fields:
            text += f"  [{fields}]"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def setup_logging(fmt: str = "json", level: str = "info") -> None:
    """Routes the `oracle` loggers to stderr in `fmt` ("json" or "text"); libraries stay at
    WARNING so their chatter never drowns the process's own lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("oracle").setLevel(level.upper())


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)
