"""Properties every rendering of the chart must have, checked over every CI values set and
example: hardened pods, probes on /healthz, ServiceMonitors that find their Services, and
VERAI_* variables that are real settings of the process they configure."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from oracle.agent.settings import AgentSettings
from oracle.config import load_settings
from oracle.dashboard.settings import DashboardSettings
from oracle.service.settings import OracleSettings
from tests.deploy._chart import (
    CHART,
    RECORD,
    ROOT,
    RenderError,
    committee,
    container,
    pod_spec,
    render,
    selects,
)

WORKLOADS = ("StatefulSet", "DaemonSet", "Deployment")
SETTINGS = {"oracle": OracleSettings, "agent": AgentSettings, "dashboard": DashboardSettings}
SETS = sorted((CHART / "ci").glob("*-values.yaml")) + sorted(
    (ROOT / "deploy" / "helm" / "examples").glob("*.yaml")
)


def _values(path: Path) -> dict[str, Any]:
    values = yaml.safe_load(path.read_text())
    chain = values.setdefault("chain", {})
    if not (chain.get("deploymentConfigMap") or {}).get("name"):
        chain["deploymentRecord"] = RECORD
    return values


@pytest.fixture(scope="module", params=SETS, ids=[p.stem for p in SETS])
def rendered(request):
    return render(_values(request.param))


def _workloads(rendered):
    for kind in WORKLOADS:
        yield from rendered.kind(kind).values()


def test_every_set_renders_workloads(rendered):
    assert list(_workloads(rendered))


def test_every_pod_is_non_root_read_only_and_without_capabilities(rendered):
    for workload in _workloads(rendered):
        spec = pod_spec(workload)
        what = workload["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True, what
        assert spec["securityContext"]["runAsUser"] != 0, what
        assert spec["automountServiceAccountToken"] is False, what
        assert spec["enableServiceLinks"] is False, what
        for box in spec["containers"]:
            context = box["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, what
            assert context["allowPrivilegeEscalation"] is False, what
            assert context["capabilities"]["drop"] == ["ALL"], what
            assert "add" not in context["capabilities"], what
            assert not context.get("privileged"), what


def test_every_writable_path_is_a_volume(rendered):
    """With a read-only root, the state folder and /tmp must be mounted volumes."""
    for workload in _workloads(rendered):
        box = container(workload)
        writable = {m["mountPath"] for m in box["volumeMounts"] if not m.get("readOnly")}
        assert {"/var/lib/verai", "/tmp"} <= writable, workload["metadata"]["name"]
        claims = {t["metadata"]["name"] for t in workload["spec"].get("volumeClaimTemplates", [])}
        declared = {v["name"] for v in pod_spec(workload)["volumes"]} | claims
        assert {m["name"] for m in box["volumeMounts"]} <= declared


def test_probes_ask_healthz_on_a_declared_port(rendered):
    for workload in _workloads(rendered):
        box = container(workload)
        ports = {p["name"] for p in box["ports"]}
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            check = box[probe]["httpGet"]
            assert check["path"] == "/healthz"
            assert check["port"] in ports, (workload["metadata"]["name"], probe)


def test_images_are_the_three_built_by_make_image(rendered):
    for workload in _workloads(rendered):
        image = container(workload)["image"]
        component = image.split("/")[-1].split(":")[0]
        assert component in {"verai-oracle", "verai-agent", "verai-dashboard"}, image
        assert image.endswith(":0.1.0")  # the chart's appVersion = the package version


def test_every_verai_variable_is_a_setting_of_its_process(rendered):
    """pydantic-settings ignores an unknown VERAI_* variable: a misspelt one would be lost."""
    for workload in _workloads(rendered):
        box = container(workload)
        process = box["image"].split("/")[-1].split(":")[0].removeprefix("verai-")
        fields = set(SETTINGS[process].model_fields)
        names = [e["name"] for e in box["env"] if e["name"].startswith("VERAI_")]
        unknown = [n for n in names if n.removeprefix("VERAI_").lower() not in fields]
        assert not unknown, f"{workload['metadata']['name']}: not settings of {process}: {unknown}"
        assert len(names) == len(set(names))


def test_service_monitors_find_a_service_and_its_port(rendered):
    services = rendered.kind("Service").values()
    for monitor in rendered.kind("ServiceMonitor").values():
        selector = monitor["spec"]["selector"]["matchLabels"]
        matched = [s for s in services if selects(selector, s["metadata"]["labels"])]
        assert matched, monitor["metadata"]["name"]
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["path"] == "/metrics"
        for service in matched:
            assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}


def test_services_select_pods_of_this_release(rendered):
    pods = [w["spec"]["template"]["metadata"]["labels"] for w in _workloads(rendered)]
    for service in rendered.kind("Service").values():
        selector = service["spec"]["selector"]
        assert any(selects(selector, labels) for labels in pods), service["metadata"]["name"]


def test_schema_admits_only_real_setting_names():
    """The `settings:` maps of values.schema.json name settings the processes have."""
    schema = json.loads((CHART / "values.schema.json").read_text())["properties"]
    oracle, agents = schema["oracle"]["properties"], schema["agents"]["properties"]
    maps = {
        "oracle": (oracle["settings"], OracleSettings),
        "oracle member": (oracle["members"]["items"]["properties"]["settings"], OracleSettings),
        "observer": (schema["observer"]["properties"]["settings"], OracleSettings),
        "agents": (agents["settings"], AgentSettings),
        "gpu agent": (agents["gpu"]["items"]["properties"]["settings"], AgentSettings),
        "cpu agent": (agents["cpu"]["items"]["properties"]["settings"], AgentSettings),
        "dashboard": (schema["dashboard"]["properties"]["settings"], DashboardSettings),
    }
    for where, (settings, cls) in maps.items():
        assert settings["additionalProperties"] is False, where
        unknown = set(settings["properties"]) - set(cls.model_fields)
        assert not unknown, f"{where} settings in the schema that {cls.__name__} lacks: {unknown}"


def test_a_misspelt_setting_is_refused():
    values = committee(["alice", "bob", "carol", "dave"])
    values["oracle"]["settings"] = {"confirmation": 3}
    with pytest.raises(RenderError, match="additional properties 'confirmation' not allowed"):
        render(values)


def _resolved_env(box: dict[str, Any], files: Path) -> dict[str, str]:
    """The container's environment as the process would see it: downward-API fields and
    Secret references filled in, $(VAR) expanded, and the paths of mounted files moved into
    `files` (where they exist, since the settings check that key files do)."""
    values: dict[str, str] = {}
    for item in box["env"]:
        source = item.get("valueFrom") or {}
        if "fieldRef" in source:
            value = {"spec.nodeName": "gpu-node-1", "metadata.name": "verai-agent-x-0"}[
                source["fieldRef"]["fieldPath"]
            ]
        elif "secretKeyRef" in source:
            value = "https://rpc.example.invalid"
        else:
            value = item["value"]
        for name, known in values.items():
            value = value.replace(f"$({name})", known)
        for mounted in ("/run/secrets/verai/", "/etc/verai/deployment/"):
            if value.startswith(mounted):
                moved = files / value.removeprefix("/")
                moved.parent.mkdir(parents=True, exist_ok=True)
                moved.touch()
                value = str(moved)
        values[item["name"]] = value
    return values


def test_rendered_environment_loads_into_the_real_settings(rendered, tmp_path, monkeypatch):
    """Every value the chart writes parses as its setting: numbers, booleans, the peers list,
    JSON maps, VER amounts, paths."""
    for workload in _workloads(rendered):
        box = container(workload)
        process = box["image"].split("/")[-1].split(":")[0].removeprefix("verai-")
        for name in [n for n in os.environ if n.startswith("VERAI_")]:
            monkeypatch.delenv(name)
        environment = _resolved_env(box, tmp_path / workload["metadata"]["name"])
        with monkeypatch.context() as scoped:
            for name, value in environment.items():
                scoped.setenv(name, value)
            settings = load_settings(SETTINGS[process])
        for name, value in environment.items():
            if name.startswith("VERAI_") and name not in ("VERAI_PEERS", "VERAI_AUDIT_PATHS"):
                loaded = getattr(settings, name.removeprefix("VERAI_").lower())
                if isinstance(loaded, (dict, list)):
                    assert loaded == json.loads(value), name
                elif isinstance(loaded, bool):
                    assert loaded == (value == "true"), name
                else:
                    assert str(loaded) == value or float(loaded) == float(value), name
        if process == "oracle" and "VERAI_PEERS" in environment:
            assert ",".join(settings.peers) == environment["VERAI_PEERS"]
