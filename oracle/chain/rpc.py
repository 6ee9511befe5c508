"""JSON-RPC to the chain with bounded, counted retries.

Every process talks to its node through one `Rpc`: plain JSON-RPC over a pooled HTTP session,
transient faults (connection refused or reset, timeouts, HTTP 429/5xx, a body that is not
JSON-RPC) retried with capped exponential backoff, every fault counted through an optional
callback (the services' Prometheus counters). Errors the node answers on purpose (a revert, an
unknown block) are not retried: they are `JsonRpcError` with the node's code, message and data.

`Rpc.w3` is a web3.py instance whose provider goes through the same path, for contract encoding,
calls and receipts.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from web3 import Web3
from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from oracle.chain.errors import ChainError, RpcUnavailable

T = TypeVar("T")

# Codes a node uses for "try again later": -32005 limit exceeded (Infura, Alchemy), -32097
# rate limit, -32603 with an HTTP 5xx is caught at the HTTP level already.
TRANSIENT_CODES = frozenset({-32005, -32097, 429})


class JsonRpcError(ChainError):
    """The node answered the request with an error object."""

    def __init__(self, method: str, code: int, message: str, data: object = None) -> None:
        super().__init__(f"{method}: node error {code}: {message}")
        self.method = method
        self.code = code
        self.message = message
        self.data = data


class _Transient(Exception):
    """A fault worth retrying (wraps what happened)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """attempts = tries in all (1 = no retry); the n-th retry waits min(max_delay, base * 2^n)."""

    attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 5.0

    def delay(self, retry: int) -> float:
        return float(min(self.max_delay, self.base_delay * (2**retry)))


ErrorCallback = Callable[[str, str], None]
"""on_error(method, kind): kind is "connection", "timeout", "http", "malformed" or "node"."""


class Rpc:
    """One endpoint: `request`, `batch`, and a web3 instance over the same path."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        on_error: ErrorCallback | None = None,
        sleep: Callable[[float], None] = time.sleep,
        hint: str = "--rpc-url / VERAI_RPC_URL",
    ) -> None:
        self.url = url
        self.hint = hint  # where the user sets the URL, named in the one-line error
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._on_error = on_error
        self._sleep = sleep
        self._session = requests.Session()
        self._ids = itertools.count(1)
        # No default middleware: our calls need no ENS or request validation, and those ask
        # the node for its chain id on every call (3 requests per eth_call).
        self.w3 = Web3(_RpcProvider(self), middleware=[])

    # ------------------------------------------------------------------ requests
    def request(self, method: str, params: Sequence[Any] = ()) -> Any:
        """The `result` of one call; raises JsonRpcError (node said no) or RpcUnavailable
        (transient faults outlasted the retries)."""

        def once() -> Any:
            reply = self._post(
                {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)},
                method,
            )
            return self._result(method, reply)

        return self._retrying(method, once)

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """The results of several calls sent as one JSON-RPC batch, in order. One failed call
        fails the batch (JsonRpcError of the first); the whole batch is retried on faults."""
        if not calls:
            return []
        label = f"batch[{calls[0][0]} x{len(calls)}]"

        def once() -> list[Any]:
            first = next(self._ids)
            payload = [
                {"jsonrpc": "2.0", "id": first + i, "method": m, "params": list(p)}
                for i, (m, p) in enumerate(calls)
            ]
            for _ in range(len(calls) - 1):
                next(self._ids)
            reply = self._post(payload, label)
            if not isinstance(reply, list) or len(reply) != len(calls):
                self._count(label, "malformed")
                raise _Transient(f"{label}: the node answered {type(reply).__name__}, not a batch")
            by_id = {item.get("id"): item for item in reply if isinstance(item, dict)}
            return [self._result(calls[i][0], by_id.get(first + i)) for i in range(len(calls))]

        return self._retrying(label, once)

    def chain_id(self) -> int:
        return int(self.request("eth_chainId"), 16)

    def block_number(self) -> int:
        return int(self.request("eth_blockNumber"), 16)

    def close(self) -> None:
        self._session.close()

    # ------------------------------------------------------------------ internals
    def _retrying(self, label: str, attempt: Callable[[], T]) -> T:
        last = ""
        for retry in range(self.retry.attempts):
            if retry:
                self._sleep(self.retry.delay(retry - 1))
            try:
                return attempt()
            except _Transient as exc:
                last = str(exc)
        raise RpcUnavailable(
            f"the RPC at {self.url} does not answer ({last}) after {self.retry.attempts} "
            f"attempts; check that the node runs and the URL ({self.hint})"
        )

    def _post(self, payload: object, label: str) -> Any:
        try:
            response = self._session.post(self.url, json=payload, timeout=self.timeout)
        except requests.Timeout as exc:
            self._count(label, "timeout")
            raise _Transient(f"timed out after {self.timeout:g} s") from exc
        except (requests.ConnectionError, OSError) as exc:
            self._count(label, "connection")
            raise _Transient(f"connection failed: {type(exc).__name__}") from exc
        except requests.RequestException as exc:
            self._count(label, "connection")
            raise _Transient(f"request failed: {exc}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            self._count(label, "http")
            raise _Transient(f"HTTP {response.status_code}")
        try:
            return response.json()
        except (ValueError, json.JSONDecodeError) as exc:
            self._count(label, "malformed")
            raise _Transient(f"HTTP {response.status_code} with a body that is not JSON") from exc

    def _result(self, method: str, reply: object) -> Any:
        if not isinstance(reply, dict) or ("result" not in reply and "error" not in reply):
            self._count(method, "malformed")
            raise _Transient(f"{method}: the node's answer is not JSON-RPC")
        error = reply.get("error")
        if error is not None:
            code = int(error.get("code", 0)) if isinstance(error, dict) else 0
            message = str(error.get("message", error)) if isinstance(error, dict) else str(error)
            self._count(method, "node")
            if code in TRANSIENT_CODES:
                raise _Transient(f"{method}: node error {code}: {message}")
            data = error.get("data") if isinstance(error, dict) else None
            raise JsonRpcError(method, code, message, data)
        return reply["result"]

    def _count(self, method: str, kind: str) -> None:
        if self._on_error is not None:
            self._on_error(method, kind)


class _RpcProvider(JSONBaseProvider):
    """web3.py provider that sends through an `Rpc` (same retries, same counters)."""

    def __init__(self, rpc: Rpc) -> None:
        super().__init__()
        self._rpc = rpc

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        try:
            result = self._rpc.request(str(method), params)
        except JsonRpcError as exc:
            error: dict[str, Any] = {"code": exc.code, "message": exc.message}
            if exc.data is not None:
                error["data"] = exc.data
            return {"jsonrpc": "2.0", "id": 0, "error": error}  # type: ignore[typeddict-item]
        return {"jsonrpc": "2.0", "id": 0, "result": result}

    def is_connected(self, show_traceback: bool = False) -> bool:
        try:
            self._rpc.request("web3_clientVersion")
        except ChainError:
            return False
        return True


def connect(
    url: str,
    *,
    timeout: float = 10.0,
    retry: RetryPolicy | None = None,
    on_error: ErrorCallback | None = None,
    hint: str = "--rpc-url / VERAI_RPC_URL",
) -> tuple[Rpc, int]:
    """An `Rpc` to `url` and the chain id it serves; RpcUnavailable with one line if it does
    not answer."""
    if not url.startswith(("http://", "https://")):
        raise RpcUnavailable(f"RPC URL {url!r} must start with http:// or https://")
    rpc = Rpc(url, timeout=timeout, retry=retry, on_error=on_error, hint=hint)
    try:
        return rpc, rpc.chain_id()
    except JsonRpcError as exc:
        raise RpcUnavailable(f"the RPC at {url} is not an Ethereum node: {exc}") from exc
