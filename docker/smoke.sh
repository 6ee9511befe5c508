#!/usr/bin/env bash
# Smoke test of one built image, without running it as a container (podman run cannot set
# rlimits on these machines): `buildah run --isolation chroot` executes commands in a working
# container made from the image.
#
#   docker/smoke.sh IMAGE SUBCOMMAND...     e.g. docker/smoke.sh localhost/verai-oracle:0.1.0 oracle run
#
# Checks: `verai --version`; the image's own command answers --help; it runs as a non-root
# uid that cannot write outside /var/lib/verai; no contract toolchain (ape, solc) is inside;
# a HEALTHCHECK is configured and its script runs (it must fail: nothing listens).
set -euo pipefail
image=$1; shift
command=("$@")

fail() { echo "smoke $image: $*" >&2; exit 1; }

ctr=$(buildah from --pull-never "$image")
trap 'buildah rm "$ctr" >/dev/null' EXIT
run() { buildah run --isolation chroot "$ctr" -- "$@"; }

echo "==> $image: verai --version"
version=$(run verai --version) || fail "verai --version failed"
echo "    $version"

run verai "${command[@]}" --help >/dev/null || fail "verai ${command[*]} --help failed"
echo "    verai ${command[*]} --help: ok"

uid=$(run id -u)
[ "$uid" != 0 ] || fail "runs as root"
if run touch /opt/verai/.write-test 2>/dev/null; then fail "uid $uid can write /opt/verai"; fi
run touch /var/lib/verai/.write-test || fail "uid $uid cannot write the state volume /var/lib/verai"
echo "    uid $uid; /opt read-only to it; /var/lib/verai writable"

run python3 -c '
import importlib.util, sys
found = [m for m in ("ape", "ape_solidity", "ape_foundry", "solcx") if importlib.util.find_spec(m)]
sys.exit(f"contract toolchain inside the image: {found}" if found else 0)
' || fail "the contract toolchain is inside"
echo "    no contract toolchain (ape, solcx)"

health=$(podman image inspect "$image" | python3 -c '
import json, sys
print(" ".join((json.load(sys.stdin)[0].get("Healthcheck") or {}).get("Test") or []))')
[ -n "$health" ] || fail "no HEALTHCHECK (build with --format docker)"
if out=$(run verai-healthcheck 2>&1); then fail "the healthcheck passed with nothing listening"; fi
echo "    HEALTHCHECK $health; with nothing listening it fails: ${out%%$'\n'*}"
