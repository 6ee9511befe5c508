"""`verai vrf`: ECVRF keys, proofs and verification (ECVRF-SECP256K1-SHA256-TAI, suite 0xFE)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import click

from oracle import vrf as ecvrf


def _hex(value: str, name: str) -> bytes:
    text = value.strip()
    if text[:2] in ("0x", "0X"):
        text = text[2:]
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not hex", param_hint=name) from None


def _write_secret(path: Path, secret: bytes, force: bool) -> None:
    """Write the key as one hex line with mode 0600, atomically (replacing any old file)."""
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; pass --force to overwrite it")
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)  # created 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secret.hex() + "\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_secret(path: Path) -> bytes:
    try:
        secret = _hex(path.read_text(), "--key")
        ecvrf.public_key(secret)
    except (click.BadParameter, ecvrf.InvalidSecretKey) as err:
        raise click.ClickException(f"{path} does not hold a VRF secret key: {err}") from None
    return secret


@click.group("vrf")
def vrf_group() -> None:
    """ECVRF keys, proofs and verification (ECVRF-SECP256K1-SHA256-TAI, 81-byte proofs)."""


@vrf_group.command("keygen")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="File for the secret key (hex, created with mode 0600).",
)
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def keygen(out: Path, force: bool) -> None:
    """Create a secret key in OUT and print its 33-byte compressed public key (hex)."""
    secret = ecvrf.generate_secret_key()
    _write_secret(out, secret, force)
    click.echo(ecvrf.public_key(secret).hex())


@vrf_group.command("pubkey")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Secret key file written by `verai vrf keygen`.",
)
def pubkey(key_file: Path) -> None:
    """Print the 33-byte compressed public key (hex) of a secret key file."""
    click.echo(ecvrf.public_key(_read_secret(key_file)).hex())


@vrf_group.command("prove")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Secret key file written by `verai vrf keygen`.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the public key, pi, beta and the on-chain verifier's helper values as JSON.",
)
@click.argument("alpha_hex")
def prove(key_file: Path, as_json: bool, alpha_hex: str) -> None:
    """Print the proof pi (hex) for the input ALPHA_HEX."""
    secret = _read_secret(key_file)
    alpha = _hex(alpha_hex, "ALPHA_HEX")
    pi = ecvrf.prove(secret, alpha)
    if not as_json:
        click.echo(pi.hex())
        return
    pk = ecvrf.public_key(secret)
    helpers = ecvrf.verifier_inputs(pk, pi, alpha)
    document = {
        "public_key": pk.hex(),
        "alpha": alpha.hex(),
        "pi": pi.hex(),
        "beta": helpers.beta.hex(),
        "counter": helpers.counter,
        "helpers": {
            "u": [str(v) for v in helpers.u],
            "sH": [str(v) for v in helpers.s_h],
            "cGamma": [str(v) for v in helpers.c_gamma],
            "lambda": str(helpers.lam),
            "witnesses": [str(w) for w in helpers.witnesses],
        },
    }
    click.echo(json.dumps(document, indent=1))


@vrf_group.command("verify")
@click.argument("public_key_hex")
@click.argument("pi_hex")
@click.argument("alpha_hex")
def verify(public_key_hex: str, pi_hex: str, alpha_hex: str) -> None:
    """Verify proof PI_HEX of ALPHA_HEX under PUBLIC_KEY_HEX; print beta, or exit 1 with the
    reason."""
    pk = _hex(public_key_hex, "PUBLIC_KEY_HEX")
    pi = _hex(pi_hex, "PI_HEX")
    alpha = _hex(alpha_hex, "ALPHA_HEX")
    try:
        beta = ecvrf.verify(pk, pi, alpha)
    except ecvrf.InvalidProof as err:
        click.echo(f"invalid proof: {err}", err=True)
        raise SystemExit(1) from None
    click.echo(beta.hex())
