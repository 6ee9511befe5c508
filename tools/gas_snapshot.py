"""Compare, show or rewrite the committed gas snapshot (.gas-snapshot.json).

The test suite records the receipt gas of named operations (tests/conftest.py `gas_log`) into
build/gas-report.json. `check` fails when an operation costs more than 2 % over its snapshot, or
when an operation is missing from either side, naming each one; `write` accepts the new figures;
`show` prints both side by side.

    python tools/gas_snapshot.py check|show|write
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / ".gas-snapshot.json"
REPORT = ROOT / "build" / "gas-report.json"
TOLERANCE = 0.02


def _load(path: Path, what: str) -> dict[str, int]:
    if not path.exists():
        sys.exit(f"gas: {path.relative_to(ROOT)} is missing ({what})")
    data: dict[str, int] = json.loads(path.read_text())
    return data


def check() -> int:
    snapshot = _load(SNAPSHOT, "commit one with `make gas-snapshot`")
    report = _load(REPORT, "run the test suite first")
    problems: list[str] = []
    for name, gas in sorted(report.items()):
        if name not in snapshot:
            problems.append(
                f"{name}: new operation ({gas} gas) not in the snapshot; "
                "run `make gas-snapshot` and commit .gas-snapshot.json"
            )
        elif gas > snapshot[name] * (1 + TOLERANCE):
            pct = 100 * (gas - snapshot[name]) / snapshot[name]
            problems.append(
                f"{name}: {gas} gas, {pct:+.1f}% over the snapshot's {snapshot[name]}"
                f" (limit +{TOLERANCE:.0%})"
            )
    for name in sorted(set(snapshot) - set(report)):
        problems.append(f"{name}: in the snapshot but no test measured it any more")
    if problems:
        print("gas snapshot check FAILED:")
        for line in problems:
            print(f"  - {line}")
        return 1
    improved = [n for n in report if report[n] < snapshot[n]]
    print(
        f"gas snapshot check passed: {len(report)} operations within +{TOLERANCE:.0%}"
        + (f" ({len(improved)} cheaper; `make gas-snapshot` records them)" if improved else "")
    )
    return 0


def show() -> int:
    snapshot = json.loads(SNAPSHOT.read_text()) if SNAPSHOT.exists() else {}
    report = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    names = sorted(set(snapshot) | set(report))
    width = max((len(n) for n in names), default=10)
    print(f"{'operation':<{width}}  {'measured':>10}  {'snapshot':>10}  {'diff':>7}")
    for name in names:
        now, then = report.get(name), snapshot.get(name)
        diff = f"{100 * (now - then) / then:+.1f}%" if now and then else ""
        print(f"{name:<{width}}  {now or '-':>10}  {then or '-':>10}  {diff:>7}")
    return 0


def write() -> int:
    report = _load(REPORT, "run the test suite first")
    SNAPSHOT.write_text(json.dumps(dict(sorted(report.items())), indent=1) + "\n")
    print(f"wrote {SNAPSHOT.name} with {len(report)} operations")
    return 0


if __name__ == "__main__":
    commands = {"check": check, "show": show, "write": write}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(commands)}")
    sys.exit(commands[sys.argv[1]]())
