"""`verai alloc solve` on the example snapshot and on bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from oracle.allocation import Allocation, Snapshot, allocate
from oracle.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "snapshot.json"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner(mix_stderr=False).invoke(main, ["alloc", "solve", *args])
    return result.exit_code, result.stdout, result.stderr


def test_alloc_solve_example_prints_the_table_with_unmet_units() -> None:
    code, out, _ = run(str(EXAMPLE))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["task", "node", "units", "price", "(wei/unit-h)", "cost", "(wei/h)"]
    assert [line.split() for line in lines[2:5]] == [
        ["101", "1", "100", "10", "1000"],
        ["101", "2", "50", "15", "750"],
        ["102", "5", "10", "2", "20"],
    ]
    assert "served 160 of 162 units, cost 1770 wei/h (path: structured)" in out
    assert "unmet: task 102 2 units" in out


def test_alloc_solve_json_equals_the_library_result() -> None:
    code, out, _ = run(str(EXAMPLE), "--json")
    assert code == 0
    expected = allocate(Snapshot.from_json(EXAMPLE.read_bytes()))
    assert out.strip() == expected.to_json()
    assert Allocation.from_json(out) == expected


@pytest.mark.parametrize("path", ["structured", "mcf", "lp"])
def test_alloc_solve_paths_agree_on_the_example(path: str) -> None:
    code, out, _ = run(str(EXAMPLE), "--path", path, "--json")
    assert code == 0
    assert json.loads(out)["cost"] == "1770"


def test_alloc_solve_missing_file_fails_clearly(tmp_path: Path) -> None:
    code, _, err = run(str(tmp_path / "nope.json"))
    assert code == 1
    assert "nope.json: cannot read it" in err


def test_alloc_solve_bad_json_fails_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": ')
    code, _, err = run(str(bad))
    assert code == 1
    assert "not valid JSON" in err
    assert "Traceback" not in err


def test_alloc_solve_malformed_snapshot_names_the_field_and_value(tmp_path: Path) -> None:
    document = json.loads(EXAMPLE.read_text())
    document["tasks"][0]["units"] = -5
    bad = tmp_path / "negative.json"
    bad.write_text(json.dumps(document))
    code, _, err = run(str(bad))
    assert code == 1
    assert "tasks[0].units=-5" in err


def test_alloc_solve_rejects_an_unknown_path() -> None:
    code, _, err = run(str(EXAMPLE), "--path", "simplex")
    assert code == 2
    assert "simplex" in err
