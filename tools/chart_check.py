"""Checks the Helm chart offline (`make chart-check`, part of `make test`), with Helm's own
library (helm-python-sdk; there is no helm binary here) and kubernetes-validate:

  1. `helm lint --strict` of deploy/helm/verai with its defaults, each CI values set
     (deploy/helm/verai/ci/*-values.yaml) and each example (deploy/helm/examples/*.yaml);
  2. `helm template` of each of them, written to OUT/<set>.yaml;
  3. every rendered object validated with `kubernetes-validate --strict` against the schemas of
     one pinned Kubernetes version (unknown fields are errors). Prometheus Operator
     ServiceMonitors have no bundled schema: they are counted and checked by tests/deploy.

A values set without a deployment record gets the sample record of the CI folder, as
`--set-file chain.deploymentRecord=...` would. Runs in the .venv-deploy virtualenv:

    .venv-deploy/bin/python tools/chart_check.py --kube-version 1.30.0 --out build/chart
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "deploy" / "helm" / "verai"
EXAMPLES = ROOT / "deploy" / "helm" / "examples"
SAMPLE_RECORD = CHART / "ci" / "deployment-84532.json"
NAMESPACE = "verai"
# CRDs kubernetes-validate has no schema for; tests/deploy checks their structure
NO_SCHEMA_GROUPS = ("monitoring.coreos.com/",)
SEVERITY = {0: "UNKNOWN", 1: "INFO", 2: "WARNING", 3: "ERROR"}


@dataclass(frozen=True)
class ValuesSet:
    name: str
    release: str
    values: dict[str, Any]


def with_record(values: dict[str, Any]) -> dict[str, Any]:
    chain = values.setdefault("chain", {})
    if not chain.get("deploymentRecord") and not (chain.get("deploymentConfigMap") or {}).get(
        "name"
    ):
        chain["deploymentRecord"] = SAMPLE_RECORD.read_text()
    return values


def values_sets() -> list[ValuesSet]:
    sets = [ValuesSet("defaults", "verai", {})]
    for path in sorted((CHART / "ci").glob("*-values.yaml")):
        values = yaml.safe_load(path.read_text()) or {}
        sets.append(ValuesSet(path.stem.removesuffix("-values"), "verai", with_record(values)))
    for path in sorted(EXAMPLES.glob("*.yaml")):
        values = yaml.safe_load(path.read_text()) or {}
        sets.append(ValuesSet(f"example-{path.stem}", path.stem, with_record(values)))
    return sets


def lint(values_set: ValuesSet, kube_version: str) -> list[str]:
    """Problems `helm lint --strict` reports (warnings count: strict)."""
    report = helm_python.lint(
        CHART,
        values_set.values,
        strict=True,
        namespace=NAMESPACE,
        kube_version=f"v{kube_version}",
    )
    problems = [str(error) for error in report.get("errors") or []]
    for message in report.get("messages") or []:
        severity = int(message.get("severity", 0))
        line = f"[{SEVERITY.get(severity, severity)}] {message.get('path')}: {message.get('error')}"
        if severity >= 2:
            problems.append(line)
        else:
            print(f"    lint {line}")
    return problems


def render(values_set: ValuesSet) -> tuple[str, list[dict[str, Any]]]:
    chart = helm_python.Chart.load(CHART)
    manifests = chart.render(
        values_set.values, name=values_set.release, namespace=NAMESPACE, is_install=True
    )
    text_parts, objects = [], []
    for path in sorted(manifests):
        if path.endswith("NOTES.txt") or not manifests[path].strip():
            continue
        text_parts.append(f"# Source: {path}\n{manifests[path].strip()}\n")
        objects.extend(doc for doc in yaml.safe_load_all(manifests[path]) if doc)
    return "---\n".join(text_parts), objects


def validate(objects: list[dict[str, Any]], kube_version: str) -> tuple[list[str], int]:
    problems, skipped = [], 0
    for obj in objects:
        what = f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"
        if str(obj.get("apiVersion", "")).startswith(NO_SCHEMA_GROUPS):
            skipped += 1
            continue
        try:
            kubernetes_validate.validate(obj, kube_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(part) for part in exc.path)
            problems.append(f"{what}: {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"{what}: no schema in Kubernetes {kube_version}: {exc}")
    return problems, skipped


def render_json(release: str) -> int:
    """`--render RELEASE`: values as JSON on stdin, the rendered objects as a JSON list on
    stdout (NOTES.txt as the last item, {"notes": text}); a template or schema error is one
    message on stderr and exit 1. Used by tests/deploy, which run in the project's venv."""
    values = json.load(sys.stdin)
    chart = helm_python.Chart.load(CHART)
    try:
        manifests = chart.render(values, name=release, namespace=NAMESPACE, is_install=True)
    except helm_python.HelmError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    objects: list[Any] = []
    notes = ""
    for path in sorted(manifests):
        if path.endswith("NOTES.txt"):
            notes = manifests[path]
        else:
            objects.extend(doc for doc in yaml.safe_load_all(manifests[path]) if doc)
    objects.append({"notes": notes})
    json.dump(objects, sys.stdout)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="helm lint/template + kubernetes-validate")
    parser.add_argument("--kube-version", default="1.30.0")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "chart")
    parser.add_argument("--render", metavar="RELEASE", help="render values from stdin as JSON")
    args = parser.parse_args()
    if args.render:
        return render_json(args.render)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    failures = 0
    total = 0
    for values_set in values_sets():
        problems = lint(values_set, args.kube_version)
        try:
            text, objects = render(values_set)
        except helm_python.HelmError as exc:
            print(f"==> {values_set.name:<20} helm template FAIL: {exc}")
            failures += 1
            continue
        (args.out / f"{values_set.name}.yaml").write_text(text)
        invalid, skipped = validate(objects, args.kube_version)
        problems += invalid
        total += len(objects)
        kinds = Counter(str(obj.get("kind")) for obj in objects)
        summary = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "nothing"
        status = "FAIL" if problems else "ok"
        print(
            f"==> {values_set.name:<20} lint --strict + template + validate {status}: {summary}"
            + (f" ({skipped} without schema)" if skipped else "")
        )
        for problem in problems:
            print(f"    {problem}")
        failures += len(problems)
    elapsed = time.monotonic() - start
    print(
        f"chart check: {total} objects, Kubernetes {args.kube_version} strict, "
        f"{failures} problems, {elapsed:.1f} s (rendered to {args.out})"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
