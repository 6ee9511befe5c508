"""A real IPFS node for `make demo ARGS=--ipfs`: the js-ipfs 0.66.1 daemon that `make deps-ipfs`
installs in tools/ipfs (it serves the Kubo HTTP RPC API), started the way DESIGN.md "IPFS"
describes: a Promise.withResolvers polyfill preloaded (Node 20 lacks it), no swarm addresses
(else it hangs), the API on a free local port."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import requests

from scripts._network_processes import ROOT, clean_env, free_port
from scripts._processes import ManagedProcess, ProcessError, wait_until

JSIPFS = ROOT / "tools" / "ipfs" / "node_modules" / ".bin" / "jsipfs"
POLYFILL = """
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function () {
    let resolve, reject
    const promise = new Promise((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
"""


@dataclass
class IpfsNode:
    process: ManagedProcess
    url: str

    def stop(self) -> None:
        self.process.stop()


def start_ipfs(home: Path, log: Path, timeout: float = 90) -> IpfsNode:
    if not JSIPFS.exists():
        raise ProcessError(f"no js-ipfs at {JSIPFS}: `make deps-ipfs` installs it")
    home.mkdir(parents=True, exist_ok=True)
    polyfill = home / "polyfill.cjs"
    polyfill.write_text(POLYFILL)
    env = clean_env(IPFS_PATH=str(home / "repo"), NODE_OPTIONS=f"--require {polyfill}")
    if not (home / "repo" / "config").exists():
        subprocess.run(
            [str(JSIPFS), "init", "--profile", "test"],
            env=env, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    config_path = home / "repo" / "config"
    config = json.loads(config_path.read_text())
    port = free_port()
    config["Addresses"].update(
        {"API": f"/ip4/127.0.0.1/tcp/{port}", "Gateway": "/ip4/127.0.0.1/tcp/0",
         "RPC": "/ip4/127.0.0.1/tcp/0", "Swarm": []}
    )  # fmt: skip
    config_path.write_text(json.dumps(config))
    process = ManagedProcess("ipfs", [str(JSIPFS), "daemon"], log, env=env).start()
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if not process.alive():
            raise ProcessError(f"the js-ipfs daemon exited:\n{process.tail()}")
        try:
            return requests.post(f"{url}/api/v0/id", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(answers, timeout=timeout, what="the IPFS node to answer /api/v0/id")
    except BaseException:
        process.stop()
        raise
    return IpfsNode(process, url)
