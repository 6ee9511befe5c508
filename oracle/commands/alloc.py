"""`verai alloc`: run the allocation engine on a snapshot file, offline (no chain needed)."""

from __future__ import annotations

from pathlib import Path

import click

from oracle.allocation import PATHS, Allocation, AllocationError, Snapshot, allocate


@click.group(name="alloc")
def alloc_group() -> None:
    """Allocate tasks to nodes from a snapshot file (the oracle's allocation step, offline).

    The snapshot format is `verai.allocation.snapshot/1` (see `oracle/allocation.py`).
    """


@alloc_group.command("solve")
@click.argument(
    "snapshot_file", metavar="SNAPSHOT.json", type=click.Path(dir_okay=False, path_type=Path)
)
@click.option(
    "--path",
    "path",
    type=click.Choice(PATHS),
    default=None,
    help="Solver: structured (exact greedy, the default), mcf (OR-tools min-cost flow; the "
    "default when the snapshot has surcharges) or lp (HiGHS reference LP).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as canonical JSON instead.")
def solve(snapshot_file: Path, path: str | None, as_json: bool) -> None:
    """Allocate the tasks of SNAPSHOT.json and print the entries and the unmet units."""
    try:
        text = snapshot_file.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"{snapshot_file}: cannot read it ({exc.strerror})") from exc
    try:
        snapshot = Snapshot.from_json(text)
        result = allocate(snapshot, path)  # type: ignore[arg-type]
    except AllocationError as exc:
        raise click.ClickException(f"{snapshot_file}: {exc}") from exc
    if as_json:
        click.echo(result.to_json())
        return
    chosen = path or ("mcf" if snapshot.surcharges else "structured")
    click.echo(_table(snapshot, result, chosen))


def _table(snapshot: Snapshot, result: Allocation, path: str) -> str:
    header = ("task", "node", "units", "price (wei/unit-h)", "cost (wei/h)")
    rows = [
        (str(e.task), str(e.node), str(e.units), str(e.price), str(e.units * e.price))
        for e in result.entries
    ]
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]

    def line(cells: tuple[str, ...]) -> str:
        first = [cells[0].rjust(widths[0]), cells[1].rjust(widths[1])]
        rest = [c.rjust(w) for c, w in zip(cells[2:], widths[2:], strict=True)]
        return "  ".join(first + rest)

    out = [line(header), "  ".join("-" * w for w in widths)]
    out.extend(line(r) for r in rows)
    if not rows:
        out.append("(no entries)")
    wanted = sum(t.units for t in snapshot.tasks)
    out.append("")
    out.append(
        f"served {result.served_units} of {wanted} units, cost {result.cost} wei/h (path: {path})"
    )
    for u in result.unmet:
        out.append(f"unmet: task {u.task} {u.units} units")
    return "\n".join(out)
