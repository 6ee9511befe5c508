"""IpfsStore against a real IPFS node: the js-ipfs 0.66.1 daemon (Kubo RPC API, DESIGN.md "IPFS").

Its CIDs must equal ``cid_for``. The node is a 289 MB npm install (~4 min), so these tests run in
`make test-ipfs`, which installs it from tools/ipfs/package-lock.json; `make test` leaves them out.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from oracle.checkpoints import CheckpointNotFound, IpfsStore, cid_for

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / ".." / "shared" / "vectors"
SAMPLE = json.loads((VECTORS / "cid-sample.json").read_text())["cids"]
HELLO = b"hello world"
JSIPFS = REPO / "tools" / "ipfs" / "node_modules" / ".bin" / "jsipfs"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------ a real js-ipfs daemon
POLYFILL = """
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function () {
    let resolve, reject
    const promise = new Promise((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
"""


def _jsipfs() -> Path:
    configured = os.environ.get("VERAI_JSIPFS")
    candidate = Path(configured) if configured else JSIPFS
    if not (candidate.exists() and os.access(candidate, os.X_OK)):
        pytest.fail(
            f"no js-ipfs at {candidate}: run these tests with `make test-ipfs`, which "
            "installs the pinned node (tools/ipfs/package-lock.json) first"
        )
    return candidate


@pytest.fixture(scope="module")
def ipfs_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = _jsipfs()
    home = tmp_path_factory.mktemp("jsipfs")
    polyfill = home / "polyfill.cjs"
    polyfill.write_text(POLYFILL)
    env = {
        **os.environ,
        "IPFS_PATH": str(home / "repo"),
        "NODE_OPTIONS": f"--require {polyfill}",
    }
    subprocess.run(
        [str(binary), "init", "--profile", "test"], env=env, check=True, capture_output=True
    )
    config_path = home / "repo" / "config"
    config = json.loads(config_path.read_text())
    port = _free_port()
    config["Addresses"].update(
        {
            "API": f"/ip4/127.0.0.1/tcp/{port}",
            "Gateway": "/ip4/127.0.0.1/tcp/0",
            "RPC": "/ip4/127.0.0.1/tcp/0",
            "Swarm": [],  # else the daemon hangs
        }
    )
    config_path.write_text(json.dumps(config))
    log = (home / "daemon.log").open("wb")
    daemon = subprocess.Popen(
        [str(binary), "daemon"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if daemon.poll() is not None:
                pytest.fail(f"jsipfs daemon exited: {(home / 'daemon.log').read_text()[-2000:]}")
            try:
                if requests.post(f"{url}/api/v0/id", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail("jsipfs daemon did not answer /api/v0/id within 90 s")
            time.sleep(0.3)
        yield url
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=15)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        log.close()


def _sample_bytes() -> dict[str, bytes]:
    rng = random.Random(20241125)
    made = {"empty": b"", "hello11": HELLO}
    made["k256"] = rng.randbytes(262144)
    made["k256p1"] = rng.randbytes(262145)
    made["m1"] = rng.randbytes(1048576)
    return made


@pytest.mark.ipfs
def test_ipfs_store_real_node_gives_vector_cids(ipfs_api: str) -> None:
    store = IpfsStore(ipfs_api)
    for name, data in _sample_bytes().items():
        assert store.put(data) == SAMPLE[name], name
        assert store.get(SAMPLE[name]) == data


@pytest.mark.ipfs
def test_ipfs_store_real_node_agrees_beyond_174_leaves(ipfs_api: str) -> None:
    data = random.Random(20241126).randbytes(175 * 262144 + 12345)
    store = IpfsStore(ipfs_api, timeout=300)
    cid = store.put(data)  # put() itself fails if the node's CID differs from cid_for
    assert cid == "bafybeiedbcv2h7ibqtqmmcy6xx2ruvzvb4q4tb3ypmwyes5k32nnrasram"
    assert store.get(cid) == data
    store.pin(cid)


@pytest.mark.ipfs
def test_ipfs_store_real_node_unknown_cid_raises_not_found(ipfs_api: str) -> None:
    unknown = cid_for(b"never added " + os.urandom(16))
    with pytest.raises(CheckpointNotFound):
        IpfsStore(ipfs_api, timeout=30).get(unknown)
