"""Runs the process of every built image for real (`make image-check`, the last step of
`make image`): a committee member with its key files, the node agent with its keystore, and the
dashboard, each inside its image (`buildah run --isolation chroot`, which shares this machine's
network; `podman run` cannot set rlimits here), against a real Anvil with the contracts deployed.
Each must answer 200 on /healthz through the image's own HEALTHCHECK script within the time
limit, then stop on SIGTERM.

    .venv/bin/python tools/image_runtime_check.py --registry localhost --version 0.1.0
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from oracle.chain.keystore import write_keystore  # noqa: E402
from scripts._committee import LOCAL_MEMBERS, LOCAL_VRF_SECRET  # noqa: E402
from tests._localnet import start_localnet  # noqa: E402

PASSWORD = "image-check"
HEALTH_SECONDS = 120
# /healthz answers 200 during a process's first timeout even before a cycle completed: wait
# until it reports a completed cycle (stdlib only, like the image's HEALTHCHECK script)
CYCLED = (
    "import json, os, sys, urllib.request;"
    "body = json.load(urllib.request.urlopen(os.environ['HEALTHCHECK_URL'], timeout=4));"
    "sys.exit(0 if body.get('seconds_since_last_cycle') is not None else 1)"
)
# a POSIX shell loop inside the image: start the process, poll /healthz with the image's
# HEALTHCHECK script until it is 200 after a completed cycle (bounded), then SIGTERM it and
# wait for it to exit
IN_IMAGE = """
log=/var/lib/verai/process.log
"$@" > "$log" 2>&1 &
pid=$!
tries=0
until verai-healthcheck 2>/dev/null && python3 -c "$CYCLED" 2>/dev/null; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "exited before /healthz answered"; tail -20 "$log"; exit 1
  fi
  tries=$((tries + 1))
  if [ "$tries" -ge "$LIMIT" ]; then
    echo "/healthz not 200 in time"; tail -20 "$log"; kill -KILL "$pid"; exit 1
  fi
  sleep 0.5
done
echo "healthy after a completed cycle ($tries polls); last log line:"
tail -1 "$log"
kill -TERM "$pid"
wait "$pid"
echo "stopped on SIGTERM with status $?"
"""


@dataclass(frozen=True)
class Case:
    image: str
    command: list[str]
    env: dict[str, str]
    mounts: dict[Path, str]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_case(case: Case) -> bool:
    container = subprocess.run(
        ["buildah", "from", "--pull-never", case.image], capture_output=True, text=True, check=True
    ).stdout.strip()
    argv = ["buildah", "run", "--isolation", "chroot"]
    for key, value in sorted(case.env.items()):
        argv += ["--env", f"{key}={value}"]
    for host, inside in case.mounts.items():
        argv += ["--volume", f"{host}:{inside}:ro"]
    argv += [container, "--", "sh", "-c", IN_IMAGE, "sh", *case.command]
    start = time.monotonic()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)  # fmt: skip
    try:
        output, _ = process.communicate(timeout=HEALTH_SECONDS + 60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        output += "\n(timed out)"
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True, check=False)
    ok = process.returncode == 0
    lines = [line for line in output.splitlines() if line.strip()]
    print(f"==> {case.image} {' '.join(case.command)}: {'ok' if ok else 'FAILED'} "
          f"({time.monotonic() - start:.1f} s)")  # fmt: skip
    for line in lines if not ok else lines[-3:]:
        print(f"    {line}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registry", default="localhost")
    parser.add_argument("--version", required=True)
    args = parser.parse_args()
    image = f"{args.registry}/verai-{{}}:{args.version}"

    with tempfile.TemporaryDirectory(prefix="verai-image-check-") as tmp:
        folder = Path(tmp)
        folder.chmod(0o755)
        net = start_localnet(folder)
        try:
            keys = folder / "keys"
            keys.mkdir(mode=0o755)
            (keys / "password").write_text(PASSWORD)
            write_keystore(keys / "member.json", PASSWORD, LOCAL_MEMBERS[0].key)
            agent = net.account(7)
            net.fund(agent)
            write_keystore(keys / "agent.json", PASSWORD, bytes(agent.key))
            (keys / "vrf.key").write_text(LOCAL_VRF_SECRET.hex())
            for path in keys.iterdir():
                path.chmod(0o644)  # readable by the images' uid 10001
            record = "/etc/verai/deployment/deployment.json"
            common = {
                "VERAI_RPC_URL": net.url,
                "VERAI_DEPLOYMENT": record,
                "LIMIT": str(HEALTH_SECONDS * 2),
                "CYCLED": CYCLED,
                # the images listen on every address for pods; here loopback only
                "VERAI_LISTEN_HOST": "127.0.0.1",
                "VERAI_METRICS_HOST": "127.0.0.1",
            }
            mounts = {net.record_path: record, keys: "/run/secrets/verai/key"}
            oracle_port, agent_port, dashboard_port = free_port(), free_port(), free_port()
            cases = [
                Case(image.format("oracle"), ["verai", "oracle", "run"], common | {
                    "VERAI_KEYSTORE": "/run/secrets/verai/key/member.json",
                    "VERAI_PASSWORD_FILE": "/run/secrets/verai/key/password",
                    "VERAI_VRF_KEY_FILE": "/run/secrets/verai/key/vrf.key",
                    "VERAI_LISTEN_PORT": str(free_port()),
                    "VERAI_METRICS_PORT": str(oracle_port),
                    "HEALTHCHECK_URL": f"http://127.0.0.1:{oracle_port}/healthz",
                }, mounts),
                Case(image.format("agent"), ["verai", "node", "run"], common | {
                    "VERAI_KEYSTORE": "/run/secrets/verai/key/agent.json",
                    "VERAI_PASSWORD_FILE": "/run/secrets/verai/key/password",
                    "VERAI_RESOURCE_CLASS": "CPU-EPYC-64",
                    "VERAI_CAPACITY": "4",
                    "VERAI_PRICE": "1",
                    "VERAI_STAKE": "10",
                    "VERAI_TELEMETRY": "estimate",
                    "VERAI_TDP_WATTS": "200",
                    "VERAI_METRICS_PORT": str(agent_port),
                    "HEALTHCHECK_URL": f"http://127.0.0.1:{agent_port}/healthz",
                }, mounts),
                Case(image.format("dashboard"), ["verai", "dashboard"], common | {
                    "VERAI_LISTEN_PORT": str(dashboard_port),
                    "HEALTHCHECK_URL": f"http://127.0.0.1:{dashboard_port}/healthz",
                }, mounts),
            ]  # fmt: skip
            results = [run_case(case) for case in cases]
        finally:
            net.anvil.stop()
    print(f"image runtime check: {sum(results)} of {len(results)} images healthy")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
