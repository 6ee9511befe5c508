"""oracle.checkpoints.IpfsStore without a node: an unreachable node is a clear IpfsError.

The tests against a real IPFS node live in tests/ipfs/ (`make test-ipfs`).
"""

from __future__ import annotations

import socket

import pytest

from oracle.checkpoints import CheckpointStore, IpfsError, IpfsStore

HELLO = b"hello world"
HELLO_CID = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ipfs_store_unreachable_node_raises_ipfs_error_naming_url() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    store = IpfsStore(url, timeout=2)
    with pytest.raises(IpfsError, match=f"{url}/api/v0/add"):
        store.put(HELLO)
    with pytest.raises(IpfsError, match=f"{url}/api/v0/cat"):
        store.get(HELLO_CID)


def test_ipfs_store_satisfies_checkpoint_store_protocol() -> None:
    assert isinstance(IpfsStore("http://127.0.0.1:5001"), CheckpointStore)
