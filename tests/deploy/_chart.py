"""Renders the Helm chart for the tests through Helm's own library.

helm-python-sdk and kubernetes-validate live in .venv-deploy (their pins conflict with ape's),
so the tests, which run in the project's venv under pytest or `ape test`, render by running
`tools/chart_check.py --render` in that venv: the real Helm template engine and the chart's
values.schema.json, values in as JSON, objects out as JSON.
"""

from __future__ import annotations

import copy
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "verai"
DEPLOY_PYTHON = ROOT / ".venv-deploy" / "bin" / "python"
RECORD = (CHART / "ci" / "deployment-84532.json").read_text()


class RenderError(Exception):
    """Helm refused the values (schema) or a template failed; the message is Helm's."""


@dataclass
class Rendered:
    objects: list[dict[str, Any]]
    notes: str = ""
    by_kind: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for obj in self.objects:
            self.by_kind.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj

    def kind(self, kind: str) -> dict[str, dict[str, Any]]:
        return self.by_kind.get(kind, {})

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = self.kind(kind)
        assert name in found, f"no {kind} {name!r}; rendered: {sorted(found)}"
        return found[name]


def render(values: dict[str, Any], release: str = "verai") -> Rendered:
    assert DEPLOY_PYTHON.is_file(), f"{DEPLOY_PYTHON} is missing: run `make deps`"
    done = subprocess.run(
        [str(DEPLOY_PYTHON), str(ROOT / "tools" / "chart_check.py"), "--render", release],
        input=json.dumps(values),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise RenderError(done.stderr.strip() or f"render exited {done.returncode}")
    items = json.loads(done.stdout)
    return Rendered(objects=items[:-1], notes=items[-1]["notes"])


def base(**sections: Any) -> dict[str, Any]:
    """Values with a chain and the sample deployment record, plus `sections`."""
    values: dict[str, Any] = {
        "chain": {"rpcUrl": "https://rpc.example.invalid", "deploymentRecord": RECORD}
    }
    values.update(copy.deepcopy(sections))
    return values


def committee(names: list[str], threshold: int = 3, **oracle: Any) -> dict[str, Any]:
    members = [{"name": name, "keySecret": f"verai-oracle-{name}"} for name in names]
    return base(
        oracle={
            "enabled": True,
            "threshold": threshold,
            "vrfKeySecret": {"name": "verai-committee-vrf"},
            "members": members,
            **oracle,
        }
    )


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def container(workload: dict[str, Any]) -> dict[str, Any]:
    (only,) = pod_spec(workload)["containers"]
    result: dict[str, Any] = only
    return result


def env(workload: dict[str, Any]) -> dict[str, Any]:
    """name -> value (or valueFrom) of the container's environment, in order."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(workload)["env"]}


def volumes(workload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in pod_spec(workload).get("volumes", [])}


def mounts(workload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["mountPath"]: m for m in container(workload).get("volumeMounts", [])}


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())
