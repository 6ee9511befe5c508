"""Content identifiers of checkpoint bytes, computed exactly as ``ipfs add --cid-version=1`` does.

Pure logic: no chain, network or file I/O. The construction (DESIGN.md "Checkpoints") is the one of
Kubo and ``ipfs-unixfs-importer`` with their defaults:

* the bytes are cut into 262144-byte chunks; each chunk is a raw block ``CIDv1(raw, sha2-256)``;
* content of at most one chunk (including empty content) *is* that raw block: CID = SHA-256(bytes);
* otherwise leaves are grouped in order, at most 174 per dag-pb UnixFS File node, and those nodes
  again, one level at a time, until a single root remains (the "balanced" layout). A branch block is
  the dag-pb protobuf: every link first (Hash = child CID bytes, Name = "" written explicitly,
  Tsize = child block size plus everything under it), then Data = UnixFS {Type = File, filesize,
  one blocksizes entry per child}.

On chain a CID is kept as ``(codec, digest)``; events carry the 36 binary CID bytes
``0x01 codec 0x12 0x20 digest``. :func:`parse_cid_bytes` applies the same rule as
``contracts/libraries/CID.sol`` and reports the same failure (``InvalidCid.field``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Final, NamedTuple

from multiformats import CID, multibase, multihash

from oracle.errors import OracleError

__all__ = [
    "CHUNK_SIZE",
    "CODEC_DAG_PB",
    "CODEC_RAW",
    "MAX_LINKS",
    "CidBuilder",
    "InvalidCid",
    "cid_bytes",
    "cid_bytes_for",
    "cid_for",
    "cid_from_bytes",
    "cid_to_onchain",
    "onchain_to_cid",
    "parse_cid_bytes",
]

CHUNK_SIZE: Final = 262144
"""Bytes per leaf: Kubo's default chunker ``size-262144``."""
MAX_LINKS: Final = 174
"""Children per dag-pb node: Kubo's and ipfs-unixfs-importer's default."""
CID_VERSION: Final = 1
CODEC_RAW: Final = 0x55
CODEC_DAG_PB: Final = 0x70
SHA2_256: Final = 0x12
DIGEST_LENGTH: Final = 32
CID_LENGTH: Final = 36
"""Binary CIDv1 with a sha2-256 multihash: version, codec, hash code, digest length, digest."""

SUPPORTED_CODECS: Final = frozenset({CODEC_RAW, CODEC_DAG_PB})

_RAW_PREFIX: Final = bytes((CID_VERSION, CODEC_RAW, SHA2_256, DIGEST_LENGTH))
_DAG_PB_PREFIX: Final = bytes((CID_VERSION, CODEC_DAG_PB, SHA2_256, DIGEST_LENGTH))
_PREFIXES: Final = {CODEC_RAW: _RAW_PREFIX, CODEC_DAG_PB: _DAG_PB_PREFIX}
_MAX_VARINT_BYTES: Final = 9  # multiformats unsigned-varint: at most 63 bits

_sha256 = hashlib.sha256


class InvalidCid(OracleError):
    """A CID that is malformed or outside what the protocol accepts (CIDv1, raw or dag-pb,
    sha2-256). ``field`` names the part that was wrong and ``value`` is what was found there:

    ``type`` / ``multibase`` (text that is not a multibase string), ``version``, ``codec``,
    ``hash`` (multihash function code), ``digest_length``, ``length`` (total bytes) and
    ``varint_offset`` (where a non-minimal or over-long varint starts). The binary fields map one
    to one onto the errors of ``CID.sol`` (``CidVersionUnsupported(version)``, ...).
    """

    def __init__(self, cid: object, field: str, value: object, expected: str) -> None:
        self.cid = cid
        self.field = field
        self.value = value
        if isinstance(cid, bytes | bytearray | memoryview):
            shown = "0x" + bytes(cid).hex()
        else:
            shown = repr(cid)
        if len(shown) > 120:
            shown = shown[:117] + "..."
        found = hex(value) if field in ("codec", "hash") and isinstance(value, int) else repr(value)
        super().__init__(f"invalid CID {shown}: {field} is {found}, expected {expected}")


class _Node(NamedTuple):
    cid: bytes  # binary CIDv1
    tsize: int  # block size plus the Tsize of everything linked under it
    filesize: int  # content bytes under this node


# ------------------------------------------------------------------ encoding helpers
def _uvarint(value: int) -> bytes:
    """Unsigned LEB128 varint, as protobuf and multiformats write it."""
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _spread_steps() -> tuple[tuple[int, int, int], ...]:
    """Masks that move 64 packed 5-bit groups (320 bits) apart into 64 bytes, halving the block of
    groups at each step: (mask of the lower half of every block, mask of its upper half, shift)."""
    steps = []
    block = 64
    while block > 1:
        half = block // 2
        low = high = 0
        for start in range(0, 64 * 8, block * 8):
            low |= ((1 << (half * 5)) - 1) << start
            high |= ((1 << (half * 5)) - 1) << (start + half * 5)
        steps.append((low, high, half * 3))  # the upper half moves from bit 5·half to bit 8·half
        block = half
    return tuple(steps)


_SPREAD: Final = _spread_steps()
_BASE32_ALPHABET: Final = bytes.maketrans(bytes(range(32)), b"abcdefghijklmnopqrstuvwxyz234567")


def _base32(raw: bytes) -> str:
    """Multibase base32 text (prefix ``b``, lowercase RFC 4648, no padding) of a 36-byte CID.

    Built by hand: a ``multiformats.CID`` costs ~200 µs to build (more than hashing a whole chunk)
    and ``base64.b32encode`` ~3 µs (4x hashing 1 KiB). Here the 288 bits, left-aligned in 320, are
    spread to one 5-bit group per byte with six mask-and-shift steps, then mapped to the alphabet:
    58 characters = ceil(288 / 5). Tests check it against multiformats.
    """
    value = int.from_bytes(raw, "big") << 32
    for low, high, shift in _SPREAD:
        value = (value & low) | ((value & high) << shift)
    return "b" + value.to_bytes(64, "big")[:58].translate(_BASE32_ALPHABET).decode("ascii")


def _leaf(chunk: bytes | bytearray | memoryview) -> _Node:
    # update() rather than sha256(chunk): on CPython 3.11 the constructor hashes a memoryview
    # slice of a large buffer ~20 % slower than update() does (measured in bench/checkpoints.py).
    hasher = _sha256()
    hasher.update(chunk)
    return _Node(_RAW_PREFIX + hasher.digest(), len(chunk), len(chunk))


def _branch(children: list[_Node]) -> tuple[_Node, bytes]:
    """One dag-pb UnixFS File node over ``children`` (links first, then Data) and its block."""
    parts: list[bytes] = []
    blocksizes: list[bytes] = []
    filesize = 0
    tsize = 0
    for child in children:
        # PBLink: 1 Hash (bytes), 2 Name (string, explicitly empty), 3 Tsize (varint)
        link = b"\x0a\x24" + child.cid + b"\x12\x00\x18" + _uvarint(child.tsize)
        parts.append(b"\x12" + _uvarint(len(link)) + link)  # PBNode field 2: Links
        blocksizes.append(b"\x20" + _uvarint(child.filesize))  # UnixFS field 4, not packed
        filesize += child.filesize
        tsize += child.tsize
    # UnixFS Data: 1 Type = 2 (File), 3 filesize, 4 blocksizes...; no Data field, default mode.
    unixfs = b"\x08\x02\x18" + _uvarint(filesize) + b"".join(blocksizes)
    parts.append(b"\x0a" + _uvarint(len(unixfs)) + unixfs)  # PBNode field 1: Data
    block = b"".join(parts)
    return _Node(_DAG_PB_PREFIX + _sha256(block).digest(), len(block) + tsize, filesize), block


# ------------------------------------------------------------------ computing CIDs
class CidBuilder:
    """Incremental form of :func:`cid_for` for content that arrives in pieces (files, streams).

    Memory stays bounded: one partial chunk plus at most ``MAX_LINKS`` pending nodes per DAG level.
    ``cid()`` does not consume the builder; more ``update`` calls may follow. ``chunk_size`` and
    ``max_links`` mirror the importer's ``--chunker=size-N`` and max-children options; the defaults
    are Kubo's, the only ones :func:`cid_for` uses. ``on_block(cid_bytes, block)``, when given, sees
    every block as it is made (leaves and full branches during ``update``; the last partial
    branches and the root on each ``cid()``/``cid_bytes()`` call).
    """

    def __init__(
        self,
        *,
        chunk_size: int = CHUNK_SIZE,
        max_links: int = MAX_LINKS,
        on_block: Callable[[bytes, bytes], None] | None = None,
    ) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be ≥ 1, got {chunk_size}")
        if max_links < 2:
            raise ValueError(f"max_links must be ≥ 2, got {max_links}")
        self._chunk_size = chunk_size
        self._max_links = max_links
        self._on_block = on_block
        self._pending = bytearray()
        self._levels: list[list[_Node]] = [[]]
        self._size = 0

    @property
    def size(self) -> int:
        """Content bytes fed so far."""
        return self._size

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Feed the next bytes of the content."""
        view = memoryview(data).cast("B")
        chunk = self._chunk_size
        self._size += len(view)
        start = 0
        if self._pending:
            take = min(chunk - len(self._pending), len(view))
            self._pending += view[:take]
            start = take
            if len(self._pending) < chunk:
                return
            self._add_leaf(self._pending)
            self._pending.clear()
        # Whole chunks straight from the caller's buffer: no copy.
        end = start + (len(view) - start) // chunk * chunk
        for offset in range(start, end, chunk):
            self._add_leaf(view[offset : offset + chunk])
        self._pending += view[end:]

    def _add_leaf(self, chunk: bytes | bytearray | memoryview) -> None:
        node = _leaf(chunk)
        if self._on_block is not None:
            self._on_block(node.cid, bytes(chunk))
        levels = self._levels
        levels[0].append(node)
        depth = 0
        # A full group becomes one node of the next level at once; that keeps memory bounded and
        # groups exactly as the importer's level-by-level batching does.
        while len(levels[depth]) == self._max_links:
            parent = self._branch(levels[depth])
            levels[depth].clear()
            depth += 1
            if depth == len(levels):
                levels.append([])
            levels[depth].append(parent)

    def cid_bytes(self) -> bytes:
        """The binary CIDv1 of everything fed so far (no text encoding step)."""
        return self._root().cid

    def cid(self) -> str:
        """The CIDv1 (base32) of everything fed so far."""
        return _base32(self._root().cid)

    def _root(self) -> _Node:
        levels = [list(level) for level in self._levels]
        if self._pending or self._size == 0:
            chunk = bytes(self._pending)
            levels[0].append(_leaf(chunk))
            if self._on_block is not None:
                self._on_block(levels[0][-1].cid, chunk)
        depth = 0
        while True:
            top = depth == len(levels) - 1
            if top and len(levels[depth]) == 1:
                return levels[depth][0]
            if levels[depth]:
                if top:
                    levels.append([])
                levels[depth + 1].append(self._branch(levels[depth]))
            depth += 1

    def _branch(self, children: list[_Node]) -> _Node:
        node, block = _branch(children)
        if self._on_block is not None:
            self._on_block(node.cid, block)
        return node


def cid_for(data: bytes | bytearray | memoryview) -> str:
    """The CIDv1 (base32) that ``ipfs add --cid-version=1`` gives for ``data``.

    Content of at most 262144 bytes gives the raw codec with digest SHA-256(data).
    """
    if len(data) <= CHUNK_SIZE:
        return _base32(_RAW_PREFIX + _sha256(data).digest())
    builder = CidBuilder()
    builder.update(data)
    return builder.cid()


def cid_bytes_for(data: bytes | bytearray | memoryview) -> bytes:
    """Binary form of :func:`cid_for` (what ``CheckpointRegistry.commit`` takes), no text step."""
    if len(data) <= CHUNK_SIZE:
        return _RAW_PREFIX + _sha256(data).digest()
    builder = CidBuilder()
    builder.update(data)
    return builder.cid_bytes()


# ------------------------------------------------------------------ parsing and conversions
def _read_varint(raw: bytes, pos: int, cid: object) -> tuple[int, int]:
    value = 0
    for index in range(_MAX_VARINT_BYTES):
        if pos + index >= len(raw):
            raise InvalidCid(
                cid, "length", len(raw), f"{CID_LENGTH} bytes (it ends inside a varint)"
            )
        byte = raw[pos + index]
        value |= (byte & 0x7F) << (7 * index)
        if byte < 0x80:
            if byte == 0 and index > 0:
                raise InvalidCid(cid, "varint_offset", pos, "a minimally encoded varint there")
            return value, pos + index + 1
    raise InvalidCid(
        cid, "varint_offset", pos, f"a varint of at most {_MAX_VARINT_BYTES} bytes there"
    )


def parse_cid_bytes(raw: bytes, *, shown: object = None) -> tuple[int, bytes]:
    """(codec, digest) of a binary CID, under the rule ``CID.sol`` enforces on chain.

    Checks, in order: version (a bare sha2-256 multihash ``0x12 0x20...`` is CIDv0 and reports
    version 0), codec, hash function, digest length, total length; raises :class:`InvalidCid`
    naming the first wrong field. ``shown`` is what error messages quote (default: ``raw``).
    """
    cid = raw if shown is None else shown
    if len(raw) == CID_LENGTH and raw[:4] in (_RAW_PREFIX, _DAG_PB_PREFIX):
        return raw[1], bytes(raw[4:])
    if len(raw) >= 2 and raw[0] == SHA2_256 and raw[1] == DIGEST_LENGTH:
        raise InvalidCid(cid, "version", 0, "1 (CIDv0 is not accepted: use --cid-version=1)")
    version, pos = _read_varint(raw, 0, cid)
    if version != CID_VERSION:
        raise InvalidCid(cid, "version", version, "1")
    codec, pos = _read_varint(raw, pos, cid)
    if codec not in SUPPORTED_CODECS:
        raise InvalidCid(cid, "codec", codec, "0x55 (raw) or 0x70 (dag-pb)")
    code, pos = _read_varint(raw, pos, cid)
    if code != SHA2_256:
        raise InvalidCid(cid, "hash", code, "0x12 (sha2-256)")
    length, pos = _read_varint(raw, pos, cid)
    if length != DIGEST_LENGTH:
        raise InvalidCid(cid, "digest_length", length, str(DIGEST_LENGTH))
    # Every field was a valid one-byte varint, so the header matched: only the length is wrong.
    raise InvalidCid(cid, "length", len(raw), f"{CID_LENGTH} bytes")


def _decode_text(cid: str) -> bytes:
    if not isinstance(cid, str):
        raise InvalidCid(cid, "type", type(cid).__name__, "str")
    try:
        if len(cid) == 46 and cid.startswith("Qm"):
            # CIDv0: a bare base58btc multihash without multibase prefix.
            return bytes(multibase.get("base58btc").raw_decoder(cid))
        return bytes(multibase.decode(cid))
    except (KeyError, ValueError) as exc:
        raise InvalidCid(cid, "multibase", cid[:1], f"a multibase-encoded CIDv1 ({exc})") from exc


def cid_to_onchain(cid: str) -> tuple[int, bytes]:
    """(codec, 32-byte digest) of a CIDv1 text form, as ``CheckpointRegistry`` stores it."""
    return parse_cid_bytes(_decode_text(cid), shown=cid)


def cid_bytes(cid: str) -> bytes:
    """Binary CIDv1 (36 bytes) of a CID text form, as carried in events and ``commit`` calls."""
    codec, digest = cid_to_onchain(cid)
    return _PREFIXES[codec] + digest


def onchain_to_cid(codec: int, digest: bytes) -> str:
    """CIDv1 text form (base32) of an on-chain (codec, digest) pair."""
    if codec not in SUPPORTED_CODECS:
        raise InvalidCid((codec, digest), "codec", codec, "0x55 (raw) or 0x70 (dag-pb)")
    if len(digest) != DIGEST_LENGTH:
        raise InvalidCid((codec, digest), "digest_length", len(digest), str(DIGEST_LENGTH))
    return str(CID("base32", CID_VERSION, codec, multihash.wrap(bytes(digest), "sha2-256")))


def cid_from_bytes(raw: bytes) -> str:
    """CIDv1 text form (base32) of binary CID bytes (e.g. from a ``CheckpointCommitted`` event)."""
    codec, digest = parse_cid_bytes(bytes(raw))
    return _base32(_PREFIXES[codec] + digest)
