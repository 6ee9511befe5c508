"""Checkpoint storage: content-addressed bytes under the CID ``ipfs add --cid-version=1`` gives.

Two stores share one protocol: :class:`LocalStore` (a folder, the embedded default) and
:class:`IpfsStore` (any node speaking the Kubo HTTP RPC API). Retrieval always re-hashes: bytes
that do not hash to the CID asked for are rejected with :class:`CheckpointCorrupted`, whoever
served them. The pure CID code lives in :mod:`oracle.cid` and is re-exported here.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Final, Protocol, runtime_checkable

import requests

from oracle.cid import (
    CidBuilder,
    InvalidCid,
    cid_bytes,
    cid_for,
    cid_from_bytes,
    cid_to_onchain,
    onchain_to_cid,
)
from oracle.errors import OracleError

__all__ = [
    "CheckpointCorrupted",
    "CheckpointError",
    "CheckpointNotFound",
    "CheckpointStore",
    "CidBuilder",
    "InvalidCid",
    "IpfsError",
    "IpfsStore",
    "LocalStore",
    "canonical_cid",
    "cid_bytes",
    "cid_for",
    "cid_from_bytes",
    "cid_to_onchain",
    "onchain_to_cid",
]


class CheckpointError(OracleError):
    """Base class of the checkpoint store errors."""


class CheckpointNotFound(CheckpointError):
    """The store holds no content under ``cid``."""

    def __init__(self, cid: str, where: str) -> None:
        self.cid = cid
        super().__init__(f"checkpoint {cid} not found in {where}")


class CheckpointCorrupted(CheckpointError):
    """Content served for ``cid`` hashes to ``actual`` instead: tampered or damaged."""

    def __init__(self, cid: str, actual: str, where: str) -> None:
        self.cid = cid
        self.actual = actual
        super().__init__(
            f"checkpoint {cid} from {where} is corrupted: its bytes hash to {actual}, "
            "the content was tampered with or damaged"
        )


class IpfsError(CheckpointError):
    """The IPFS node could not be reached or answered with an error."""

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        super().__init__(f"IPFS RPC {url}: {problem}")


@runtime_checkable
class CheckpointStore(Protocol):
    """Where checkpoints live: ``put`` returns the content's CID, ``get`` returns verified bytes."""

    def put(self, data: bytes) -> str:
        """Store ``data``; return its CIDv1 (equal to :func:`cid_for`)."""
        ...

    def get(self, cid: str) -> bytes:
        """The bytes stored under ``cid``, re-hashed; raises :class:`CheckpointNotFound`,
        :class:`CheckpointCorrupted` or :class:`InvalidCid`."""
        ...


def canonical_cid(cid: str) -> str:
    """The base32 CIDv1 text of any accepted CID text (e.g. a base58btc ``z...`` CIDv1)."""
    return onchain_to_cid(*cid_to_onchain(cid))


def _verified(cid: str, data: bytes, where: str) -> bytes:
    actual = cid_for(data)
    if actual != cid:
        raise CheckpointCorrupted(cid, actual, where)
    return data


# ------------------------------------------------------------------ local folder
class LocalStore:
    """A content-addressed folder: the bytes with CID ``c`` are the file ``folder/c``.

    Writes are atomic (a temporary file in the same folder, fsync, ``os.replace``), so a crash
    leaves either the whole checkpoint or none; readers never see a partial file.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalStore({str(self.folder)!r})"

    def path_of(self, cid: str) -> Path:
        """Where the content of ``cid`` is (or would be) stored."""
        return self.folder / canonical_cid(cid)

    def put(self, data: bytes) -> str:
        cid = cid_for(data)
        path = self.folder / cid
        with contextlib.suppress(OSError):
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                return cid  # already stored, intact
        descriptor, temporary = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        self._sync_folder()
        return cid

    def get(self, cid: str) -> bytes:
        canonical = canonical_cid(cid)
        try:
            data = (self.folder / canonical).read_bytes()
        except FileNotFoundError:
            raise CheckpointNotFound(canonical, repr(self)) from None
        return _verified(canonical, data, repr(self))

    def __contains__(self, cid: object) -> bool:
        return isinstance(cid, str) and (self.folder / canonical_cid(cid)).is_file()

    def _sync_folder(self) -> None:
        """Make the rename durable too (POSIX; a no-op where folders cannot be opened)."""
        try:
            descriptor = os.open(self.folder, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(descriptor)
        except OSError:
            pass
        finally:
            os.close(descriptor)


# ------------------------------------------------------------------ IPFS (Kubo HTTP RPC API)
_ADD_PARAMS: Final = {
    "cid-version": "1",
    "raw-leaves": "true",
    "cid-base": "base32",  # js-ipfs answers base58btc otherwise
    "chunker": "size-262144",
    "hash": "sha2-256",
    "pin": "true",
}


class IpfsStore:
    """Checkpoints on an IPFS node through the Kubo HTTP RPC API (Kubo, or the js-ipfs daemon).

    ``api_url`` is the RPC address, e.g. ``http://127.0.0.1:5001``. ``put`` adds with the
    parameters :func:`cid_for` mirrors and pins; it rejects an answer whose CID differs from the
    local computation. ``get`` asks ``cat`` with a node-side ``cat_timeout`` (an unknown CID would
    otherwise hang while the node searches the network) and re-hashes what comes back.
    """

    def __init__(
        self,
        api_url: str,
        *,
        timeout: float = 60.0,
        cat_timeout: str = "2s",
        session: requests.Session | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.cat_timeout = cat_timeout
        self._session = session if session is not None else requests.Session()

    def __repr__(self) -> str:
        return f"IpfsStore({self.api_url!r})"

    def _post(self, command: str, **kwargs: Any) -> requests.Response:
        url = f"{self.api_url}/api/v0/{command}"
        try:
            response = self._session.post(url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise IpfsError(url, f"request failed: {exc}") from exc
        if response.status_code != 200:
            raise IpfsError(url, f"HTTP {response.status_code}: {_rpc_message(response)}")
        return response

    def put(self, data: bytes) -> str:
        expected = cid_for(data)
        # Every multipart part needs a Content-Type (js-ipfs rejects a part without one).
        files = {"file": ("checkpoint", data, "application/octet-stream")}
        response = self._post("add", params=_ADD_PARAMS, files=files)
        lines = [line for line in response.text.splitlines() if line.strip()]
        try:
            answer = json.loads(lines[-1])
            added = str(answer["Hash"])
        except (IndexError, ValueError, KeyError, TypeError) as exc:
            raise IpfsError(response.url, f"unexpected add answer {response.text[:200]!r}") from exc
        if added != expected:
            raise IpfsError(
                response.url,
                f"node computed CID {added} for {len(data)} bytes, expected {expected} "
                "(is its chunker or CID version configured differently?)",
            )
        return expected

    def get(self, cid: str) -> bytes:
        canonical = canonical_cid(cid)
        url = f"{self.api_url}/api/v0/cat"
        try:
            response = self._session.post(
                url, params={"arg": canonical, "timeout": self.cat_timeout}, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise IpfsError(url, f"request failed: {exc}") from exc
        if response.status_code != 200:
            message = _rpc_message(response)
            lowered = message.lower()
            # Kubo: "context deadline exceeded"; js-ipfs: "Failed to cat file: request timed out"
            hints = ("timeout", "timed out", "deadline", "not found", "aborted")
            if any(hint in lowered for hint in hints):
                raise CheckpointNotFound(canonical, f"{self!r} ({message})")
            raise IpfsError(url, f"HTTP {response.status_code}: {message}")
        return _verified(canonical, response.content, repr(self))

    def pin(self, cid: str) -> None:
        """Pin ``cid`` on the node (recursively), e.g. the checkpoint a resumed task starts from."""
        self._post("pin/add", params={"arg": canonical_cid(cid), "recursive": "true"})


def _rpc_message(response: requests.Response) -> str:
    """The ``Message`` of a Kubo RPC error body, or the start of the raw body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and "Message" in body:
        return str(body["Message"])
    return response.text[:200]
