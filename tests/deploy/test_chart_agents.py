"""Contributor agents in the Helm chart: a DaemonSet per GPU class on the GPU nodes, a
StatefulSet per CPU class scaled by an HPA on the oracle's pending-units metric, one key per
pod; and the dashboard's Deployment with its HPA."""

from __future__ import annotations

import pytest

from tests.deploy._chart import (
    RenderError,
    base,
    container,
    env,
    mounts,
    pod_spec,
    render,
    volumes,
)

GPU = {
    "name": "a100",
    "resourceClass": "GPU-A100-80G",
    "capacity": 8,
    "price": "2.5",
    "stake": "1000",
    "keySecret": "verai-agents-a100",
    "gpus": 8,
}
CPU = {
    "name": "epyc",
    "resourceClass": "CPU-EPYC-64",
    "capacity": 64,
    "price": "0.2",
    "stake": "20",
    "keySecret": "verai-agents-epyc",
    "autoscaling": {"enabled": True, "minReplicas": 1, "maxReplicas": 6, "targetPendingUnits": 64},
    "resources": {"requests": {"cpu": "8", "memory": "8Gi"}},
}


@pytest.fixture(scope="module")
def agents():
    return render(base(agents={"gpu": [GPU], "cpu": [CPU]}, observer={"enabled": True}))


def test_gpu_agents_run_once_per_gpu_node_with_all_its_gpus(agents):
    daemonset = agents.get("DaemonSet", "verai-agent-a100")
    spec = pod_spec(daemonset)
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec[
        "tolerations"
    ]
    assert container(daemonset)["resources"]["limits"]["nvidia.com/gpu"] == 8
    # an update never puts two pods (one key) on one node
    assert daemonset["spec"]["updateStrategy"]["rollingUpdate"]["maxSurge"] == 0
    assert container(daemonset)["args"] == ["node", "run"]


def test_gpu_agents_read_powercap_read_only_from_the_host(agents):
    daemonset = agents.get("DaemonSet", "verai-agent-a100")
    host = volumes(daemonset)["powercap"]["hostPath"]
    assert host == {"path": "/sys/class/powercap", "type": "Directory"}
    mount = mounts(daemonset)["/host/sys/class/powercap"]
    assert mount["readOnly"] is True and mount["name"] == "powercap"
    assert env(daemonset)["VERAI_RAPL_ROOT"] == "/host/sys/class/powercap"
    # the only hostPath volume, and nothing else of the host is shared
    hosts = [v for v in pod_spec(daemonset)["volumes"] if "hostPath" in v]
    assert [v["name"] for v in hosts] == ["powercap"]
    spec = pod_spec(daemonset)
    assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC")


def test_powercap_can_be_left_out():
    rendered = render(base(agents={"gpu": [GPU | {"powercap": False}]}))
    daemonset = rendered.get("DaemonSet", "verai-agent-a100")
    assert "powercap" not in volumes(daemonset)
    assert "VERAI_RAPL_ROOT" not in env(daemonset)


@pytest.mark.parametrize(
    ("kind", "name", "identity", "field"),
    [
        ("DaemonSet", "verai-agent-a100", "NODE_NAME", "spec.nodeName"),
        ("StatefulSet", "verai-agent-epyc", "POD_NAME", "metadata.name"),
    ],
)
def test_every_agent_pod_reads_its_own_keystore(agents, kind, name, identity, field):
    workload = agents.get(kind, name)
    names = [e["name"] for e in container(workload)["env"]]
    variables = env(workload)
    assert variables[identity] == {"fieldRef": {"fieldPath": field}}
    # $(VAR) expands only variables defined earlier in the list
    assert names.index(identity) < names.index("VERAI_KEYSTORE")
    assert variables["VERAI_KEYSTORE"] == f"/run/secrets/verai/key/$({identity}).json"
    assert variables["VERAI_PASSWORD_FILE"] == "/run/secrets/verai/key/password"
    assert volumes(workload)["key"]["secret"]["secretName"].startswith("verai-agents-")
    assert mounts(workload)["/run/secrets/verai/key"]["readOnly"] is True


def test_the_offer_comes_from_the_class_entry(agents):
    variables = env(agents.get("StatefulSet", "verai-agent-epyc"))
    assert variables["VERAI_RESOURCE_CLASS"] == "CPU-EPYC-64"
    assert variables["VERAI_CAPACITY"] == "64"
    assert variables["VERAI_PRICE"] == "0.2"
    assert variables["VERAI_STAKE"] == "20"


def test_cpu_agents_scale_on_the_pending_units_of_their_class(agents):
    hpa = agents.get("HorizontalPodAutoscaler", "verai-agent-epyc")
    target = hpa["spec"]["scaleTargetRef"]
    assert target == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "verai-agent-epyc"}
    agents.get("StatefulSet", target["name"])
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "External"
    assert metric["external"]["metric"] == {
        "name": "verai_oracle_pending_units",
        "selector": {"matchLabels": {"class": "CPU-EPYC-64"}},
    }
    assert metric["external"]["target"] == {"type": "Value", "value": "64"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 6)
    # up one agent per period; never down unless asked (a removed busy agent gets slashed)
    behavior = hpa["spec"]["behavior"]
    assert behavior["scaleUp"]["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 300}]
    assert behavior["scaleDown"] == {"selectPolicy": "Disabled"}
    # the HPA owns the replica count
    assert "replicas" not in agents.get("StatefulSet", "verai-agent-epyc")["spec"]


def test_scale_down_when_enabled_is_slow_and_one_at_a_time():
    autoscaling = CPU["autoscaling"] | {"scaleDown": {"enabled": True}}
    rendered = render(base(agents={"cpu": [CPU | {"autoscaling": autoscaling}]}))
    down = rendered.get("HorizontalPodAutoscaler", "verai-agent-epyc")["spec"]["behavior"][
        "scaleDown"
    ]
    assert down["stabilizationWindowSeconds"] == 3600
    assert down["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 900}]


def test_cpu_agents_without_autoscaling_have_fixed_replicas():
    fixed = {k: v for k, v in CPU.items() if k != "autoscaling"} | {"replicas": 3}
    rendered = render(base(agents={"cpu": [fixed]}))
    assert rendered.get("StatefulSet", "verai-agent-epyc")["spec"]["replicas"] == 3
    assert not rendered.kind("HorizontalPodAutoscaler")


def test_each_cpu_agent_keeps_its_own_work_volume(agents):
    workload = agents.get("StatefulSet", "verai-agent-epyc")
    (claim,) = workload["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "work"
    assert mounts(workload)["/var/lib/verai"]["name"] == "work"
    assert env(workload)["VERAI_WORK_DIR"] == "/var/lib/verai/node"
    assert workload["spec"]["serviceName"] == "verai-agent-epyc"
    agents.get("Service", "verai-agent-epyc")


def test_a_class_the_deployment_does_not_know_is_refused():
    with pytest.raises(RenderError, match='resourceClass "GPU-H100" is not a class'):
        render(base(agents={"gpu": [GPU | {"resourceClass": "GPU-H100"}]}))


def test_min_replicas_above_max_is_refused():
    autoscaling = CPU["autoscaling"] | {"minReplicas": 7}
    with pytest.raises(RenderError, match="minReplicas 7 is above maxReplicas 6"):
        render(base(agents={"cpu": [CPU | {"autoscaling": autoscaling}]}))


def test_two_classes_with_one_name_are_refused():
    with pytest.raises(RenderError, match='the name "a100" is used by two classes'):
        render(base(agents={"gpu": [GPU, GPU | {"keySecret": "other"}]}))


def test_the_dashboard_scales_on_cpu_with_requests_to_measure_against():
    rendered = render(base(dashboard={"enabled": True}))
    deployment = rendered.get("Deployment", "verai-dashboard")
    assert "replicas" not in deployment["spec"]
    assert container(deployment)["resources"]["requests"]["cpu"]
    hpa = rendered.get("HorizontalPodAutoscaler", "verai-dashboard")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "verai-dashboard"
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    variables = env(deployment)
    assert variables["VERAI_LISTEN_HOST"] == "0.0.0.0"
    assert variables["VERAI_DB"] == "/var/lib/verai/dashboard.sqlite"
    # its mirror is rebuilt from the chain: an emptyDir per replica
    assert "emptyDir" in volumes(deployment)["data"]
    service = rendered.get("Service", "verai-dashboard")
    assert service["spec"]["ports"][0]["targetPort"] == "http"
