"""Export the ABIs of the deployable contracts from ape's build output to oracle/abi/*.json.

The oracle, the node agent, the wallet CLI and the dashboard talk to the chain with web3.py and
these committed files, so they run where no Solidity toolchain is installed. `make abi` rewrites
them after `ape compile`; `make test` runs `--check`, which fails when a committed ABI differs from
what the compiler produced (a contract changed and the ABI was not re-exported).

    python tools/export_abi.py            # write
    python tools/export_abi.py --check    # compare, exit 1 on any difference
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / ".build" / "__local__.json"
ABI_DIR = ROOT / "oracle" / "abi"
CONTRACTS = ("VerToken", "NodeRegistry", "TaskMarket", "CheckpointRegistry", "ReportVerifier")


def render(abi: list[dict[str, object]]) -> str:
    # Sorted keys and a stable entry order (type, name, then the full text) so that a recompile
    # that only reorders the compiler's output never shows as a change.
    def order(entry: dict[str, object]) -> tuple[str, str, str]:
        return (
            str(entry.get("type")),
            str(entry.get("name", "")),
            json.dumps(entry, sort_keys=True),
        )

    entries = sorted(abi, key=order)
    return json.dumps(entries, indent=1, sort_keys=True) + "\n"


def compiled() -> dict[str, str]:
    if not MANIFEST.is_file():
        sys.exit(f"export_abi: {MANIFEST} is missing; run `ape compile` (make compile) first")
    types = json.loads(MANIFEST.read_text())["contractTypes"]
    missing = [name for name in CONTRACTS if name not in types]
    if missing:
        sys.exit(f"export_abi: {MANIFEST} has no {', '.join(missing)}; run `ape compile`")
    return {name: render(types[name]["abi"]) for name in CONTRACTS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    fresh = compiled()
    if args.check:
        stale = [
            name
            for name, text in fresh.items()
            if not (ABI_DIR / f"{name}.json").is_file()
            or (ABI_DIR / f"{name}.json").read_text() != text
        ]
        if stale:
            sys.exit(
                "export_abi: oracle/abi/ differs from the compiled contracts for "
                f"{', '.join(stale)}; run `make abi` and commit the result"
            )
        print(f"ABI check passed: {len(fresh)} contracts match oracle/abi/")
        return
    ABI_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in fresh.items():
        (ABI_DIR / f"{name}.json").write_text(text)
    print(f"wrote {len(fresh)} ABIs to {ABI_DIR.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
