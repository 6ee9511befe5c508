"""Builds the offline build context of the images (docker/Dockerfile) in build/image/context:

    wheels/   the project's wheel and every runtime dependency, resolved by pip on this machine
              against requirements.lock (no extras: the contract toolchain stays out)
    pip/      pip's own wheel, which the image runs straight from the file (the base has no pip)
    healthcheck.py

and checks that every wheel is pinned by requirements.lock, so the images hold exactly the
versions the test suite ran with. A dependency missing from the lock is an error naming it.

    python tools/image_context.py [--out build/image/context]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the pip that installs inside the image (run from its wheel); the host's pip only downloads
IMAGE_PIP = "pip==26.3"
# what a wheel of the project needs from the source tree
SOURCES = ("pyproject.toml", "README.md", "oracle")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[normalise(name)] = version.strip()
    return pins


def wheel_pin(wheel: Path) -> tuple[str, str]:
    name, version = wheel.name.split("-")[:2]
    return normalise(name), version


def copy_sources(dest: Path) -> None:
    """The package as it is in the work tree, without caches (a wheel built in place would
    leave setuptools' build/ folder in the repository)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            shutil.copy2(source, dest / name)


def pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    print("==> pip " + " ".join(args[:2]) + " ...", flush=True)
    subprocess.run(command, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "image" / "context")
    out: Path = parser.parse_args().out.resolve()
    lock = ROOT / "requirements.lock"
    work = out.parent / "src"

    copy_sources(work)
    for sub in ("wheels", "pip"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True)
    pip("wheel", "--quiet", "--wheel-dir", str(out / "wheels"), "-c", str(lock), str(work))
    pip("download", "--quiet", "--no-deps", "--dest", str(out / "pip"), IMAGE_PIP)

    pins = read_lock(lock)
    project = normalise("verai-network")
    unpinned = []
    for wheel in sorted((out / "wheels").glob("*.whl")):
        name, version = wheel_pin(wheel)
        if name != project and pins.get(name) != version:
            unpinned.append(f"{name}=={version} (lock: {pins.get(name, 'absent')})")
    if unpinned:
        print("requirements.lock does not pin these runtime wheels:", file=sys.stderr)
        for line in unpinned:
            print("  " + line, file=sys.stderr)
        return 1
    toolchain = [
        w.name
        for w in (out / "wheels").glob("*.whl")
        if w.name.startswith(("eth_ape", "ape_", "py_solc"))
    ]
    if toolchain:
        print(
            f"the contract toolchain leaked into the runtime wheels: {toolchain}", file=sys.stderr
        )
        return 1

    health = out / "healthcheck.py"
    shutil.copy2(ROOT / "docker" / "healthcheck.py", health)
    health.chmod(0o755)
    wheels = sorted((out / "wheels").glob("*.whl"))
    size = sum(w.stat().st_size for w in wheels) / 1e6
    (pip_wheel,) = (out / "pip").glob("pip-*.whl")
    print(f"==> context {out}: {len(wheels)} wheels ({size:.0f} MB), {pip_wheel.name}")
    (out / "PIP_WHEEL").write_text(pip_wheel.name + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
