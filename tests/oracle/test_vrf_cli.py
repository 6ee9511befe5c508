"""`verai vrf keygen | pubkey | prove | verify`."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from click.testing import CliRunner

from oracle import vrf
from oracle.cli import main

VECTORS = Path(__file__).resolve().parents[2] / ".." / "shared" / "vectors" / "vrf-sample.json"
VECTOR = json.loads(VECTORS.read_text())["valid"][0]


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner(mix_stderr=False).invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_keygen_writes_key_with_mode_0600_and_prints_public_key(tmp_path: Path) -> None:
    key = tmp_path / "vrf.key"
    code, out, _ = _run("vrf", "keygen", "--out", str(key))
    assert code == 0
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    secret = bytes.fromhex(key.read_text().strip())
    assert out.strip() == vrf.public_key(secret).hex()
    assert _run("vrf", "pubkey", "--key", str(key))[1].strip() == out.strip()


def test_keygen_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    key = tmp_path / "vrf.key"
    key.write_text("keep me\n")
    code, _, err = _run("vrf", "keygen", "--out", str(key))
    assert code == 1
    assert "exists" in err
    assert key.read_text() == "keep me\n"


def test_keygen_force_replaces_key_and_tightens_mode(tmp_path: Path) -> None:
    key = tmp_path / "vrf.key"
    key.write_text("old\n")
    key.chmod(0o644)
    code, out, _ = _run("vrf", "keygen", "--out", str(key), "--force")
    assert code == 0
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert vrf.public_key(bytes.fromhex(key.read_text().strip())).hex() == out.strip()
    assert [p.name for p in tmp_path.iterdir()] == ["vrf.key"]  # no temporary file left


def test_prove_reproduces_vector_and_verify_prints_beta(tmp_path: Path) -> None:
    key = tmp_path / "vector.key"
    key.write_text(VECTOR["sk"] + "\n")
    code, out, _ = _run("vrf", "prove", "--key", str(key), "0x" + VECTOR["alpha"])
    assert (code, out.strip()) == (0, VECTOR["pi"])
    code, out, _ = _run("vrf", "verify", VECTOR["pk"], VECTOR["pi"], VECTOR["alpha"])
    assert (code, out.strip()) == (0, VECTOR["beta"])


def test_prove_json_carries_helpers_for_the_contract(tmp_path: Path) -> None:
    key = tmp_path / "vector.key"
    key.write_text(VECTOR["sk"])
    code, out, _ = _run("vrf", "prove", "--key", str(key), "--json", VECTOR["alpha"])
    assert code == 0
    document = json.loads(out)
    assert document["pi"] == VECTOR["pi"]
    assert document["beta"] == VECTOR["beta"]
    assert document["public_key"] == VECTOR["pk"]
    helpers = vrf.verifier_inputs(
        bytes.fromhex(VECTOR["pk"]), bytes.fromhex(VECTOR["pi"]), bytes.fromhex(VECTOR["alpha"])
    )
    assert int(document["helpers"]["lambda"]) == helpers.lam
    assert [int(v) for v in document["helpers"]["u"]] == list(helpers.u)
    assert document["counter"] == helpers.counter == len(document["helpers"]["witnesses"])


def test_verify_invalid_proof_exits_1_with_reason() -> None:
    code, out, err = _run("vrf", "verify", VECTOR["pk"], VECTOR["pi"], "00")
    assert code == 1
    assert out == ""
    assert "invalid proof: challenge" in err


def test_verify_malformed_public_key_exits_1_with_reason() -> None:
    code, _, err = _run("vrf", "verify", "04" + VECTOR["pk"][2:], VECTOR["pi"], VECTOR["alpha"])
    assert code == 1
    assert "public_key_prefix" in err


def test_verify_rejects_non_hex_argument_as_usage_error() -> None:
    code, _, err = _run("vrf", "verify", "xyz", VECTOR["pi"], VECTOR["alpha"])
    assert code == 2
    assert "not hex" in err


def test_prove_rejects_file_without_a_key(tmp_path: Path) -> None:
    key = tmp_path / "bad.key"
    key.write_text("00" * 32)
    code, _, err = _run("vrf", "prove", "--key", str(key), "00")
    assert code == 1
    assert "does not hold a VRF secret key" in err
