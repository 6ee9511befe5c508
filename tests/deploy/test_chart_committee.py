"""The committee in the Helm chart: every member its own key, volume, Service and pod, one pod
per key, peers wired to each other, a disruption budget that keeps the quorum."""

from __future__ import annotations

import pytest

from tests.deploy._chart import (
    RenderError,
    committee,
    container,
    env,
    mounts,
    pod_spec,
    render,
    selects,
    volumes,
)

FOUR = ["alice", "bob", "carol", "dave"]


@pytest.fixture(scope="module")
def four():
    return render(committee(FOUR, threshold=3))


def test_four_members_render_four_single_replica_statefulsets(four):
    sets = four.kind("StatefulSet")
    assert sorted(sets) == [f"verai-oracle-{name}" for name in FOUR]
    for workload in sets.values():
        assert workload["spec"]["replicas"] == 1
        assert container(workload)["args"] == ["oracle", "run"]


def test_each_member_gets_its_own_key_secret(four):
    secrets = {}
    for name in FOUR:
        workload = four.get("StatefulSet", f"verai-oracle-{name}")
        key = volumes(workload)["key"]["secret"]
        secrets[name] = key["secretName"]
        # the keystore and password the process reads are files of that Secret's volume
        variables = env(workload)
        key_mount = mounts(workload)["/run/secrets/verai/key"]
        assert key_mount["name"] == "key" and key_mount["readOnly"] is True
        assert variables["VERAI_KEYSTORE"] == "/run/secrets/verai/key/keystore.json"
        assert variables["VERAI_PASSWORD_FILE"] == "/run/secrets/verai/key/password"
        assert {item["path"] for item in key["items"]} == {"keystore.json", "password"}
        # no key material in the environment, only paths
        assert all(not str(v).startswith(("0x", "{")) for v in variables.values())
    assert secrets == {name: f"verai-oracle-{name}" for name in FOUR}
    assert len(set(secrets.values())) == 4


def test_each_member_gets_its_own_volume(four):
    claims = set()
    for name in FOUR:
        workload = four.get("StatefulSet", f"verai-oracle-{name}")
        (template,) = workload["spec"]["volumeClaimTemplates"]
        assert template["metadata"]["name"] == "data"
        assert template["spec"]["accessModes"] == ["ReadWriteOnce"]
        assert mounts(workload)["/var/lib/verai"]["name"] == "data"
        assert env(workload)["VERAI_DB"].startswith("/var/lib/verai/")
        assert env(workload)["VERAI_STORE_FOLDER"].startswith("/var/lib/verai/")
        # the claim Kubernetes creates is <template>-<statefulset>-<ordinal>
        claims.add(f"data-{workload['metadata']['name']}-0")
        retention = workload["spec"]["persistentVolumeClaimRetentionPolicy"]
        assert retention == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    assert len(claims) == 4


def test_each_member_gets_its_own_service_selecting_only_its_pod(four):
    services = four.kind("Service")
    pods = {
        name: four.get("StatefulSet", f"verai-oracle-{name}")["spec"]["template"]["metadata"][
            "labels"
        ]
        for name in FOUR
    }
    for name in FOUR:
        service = services[f"verai-oracle-{name}"]
        selector = service["spec"]["selector"]
        assert [m for m, labels in pods.items() if selects(selector, labels)] == [name]
        (port,) = service["spec"]["ports"]
        assert port["port"] == 7400 and port["targetPort"] == "peer"
        assert service["spec"]["publishNotReadyAddresses"] is True
        workload = four.get("StatefulSet", f"verai-oracle-{name}")
        assert workload["spec"]["serviceName"] == f"verai-oracle-{name}"
        assert {p["name"] for p in container(workload)["ports"]} == {"peer", "metrics"}


def test_peers_are_the_other_members_services(four):
    services = four.kind("Service")
    for name in FOUR:
        peers = env(four.get("StatefulSet", f"verai-oracle-{name}"))["VERAI_PEERS"].split(",")
        hosts = sorted(peer.removeprefix("http://").split(".")[0] for peer in peers)
        assert hosts == sorted(f"verai-oracle-{other}" for other in FOUR if other != name)
        for peer in peers:
            assert peer.endswith(".verai.svc:7400")
            assert peer.removeprefix("http://").split(".")[0] in services


def test_external_peers_join_every_member_and_count_in_the_budget():
    rendered = render(
        committee(["alice", "bob"], threshold=3, externalPeers=["http://carol.example:7400"])
    )
    for name in ("alice", "bob"):
        peers = env(rendered.get("StatefulSet", f"verai-oracle-{name}"))["VERAI_PEERS"]
        assert peers.endswith(",http://carol.example:7400")
    # committee of 3 (2 here + 1 elsewhere), threshold 3: no member may be evicted
    budget = rendered.get("PodDisruptionBudget", "verai-oracle")
    assert budget["spec"]["maxUnavailable"] == 0
    assert "allows no eviction" in rendered.notes


def test_budget_lets_at_most_size_minus_threshold_members_go(four):
    budget = four.get("PodDisruptionBudget", "verai-oracle")
    assert budget["spec"]["maxUnavailable"] == 1  # 4 members, 3 signatures needed
    labels = [
        four.get("StatefulSet", f"verai-oracle-{name}")["spec"]["template"]["metadata"]["labels"]
        for name in FOUR
    ]
    assert all(selects(budget["spec"]["selector"]["matchLabels"], pod) for pod in labels)


@pytest.mark.parametrize(
    "where", ["member", "oracle"], ids=["members[0].replicas", "oracle.replicas"]
)
def test_replicas_of_a_member_can_never_be_set(where):
    values = committee(FOUR)
    target = values["oracle"]["members"][0] if where == "member" else values["oracle"]
    target["replicas"] = 2
    with pytest.raises(RenderError, match="additional properties 'replicas' not allowed"):
        render(values)


def test_two_members_on_one_key_are_refused():
    values = committee(["alice", "bob"], threshold=2)
    values["oracle"]["members"][1]["keySecret"] = "verai-oracle-alice"
    with pytest.raises(RenderError, match='"alice" and "bob" share the keySecret'):
        render(values)


def test_a_member_name_twice_is_refused():
    with pytest.raises(RenderError, match='the name "alice" appears twice'):
        render(committee(["alice", "alice"], threshold=2))


def test_threshold_above_the_committee_is_refused():
    with pytest.raises(RenderError, match="threshold 3 is above the committee size 2"):
        render(committee(["alice", "bob"], threshold=3))


def test_threshold_must_match_the_deployment_record():
    # the sample record's committee needs 3 of 4 signatures
    with pytest.raises(RenderError, match="committee threshold is 3"):
        render(committee(FOUR, threshold=2))


def test_signing_members_need_the_vrf_key():
    values = committee(FOUR)
    values["oracle"]["vrfKeySecret"] = {"name": ""}
    with pytest.raises(RenderError, match=r"vrfKeySecret\.name is required"):
        render(values)


def test_member_overrides_apply_to_that_member_only():
    values = committee(FOUR)
    values["oracle"]["settings"] = {"confirmations": 3, "gas_cap": 10_000_000}
    values["oracle"]["members"][2]["storage"] = {"size": "10Gi"}
    values["oracle"]["members"][3]["settings"] = {"confirmations": 5}
    values["oracle"]["members"][3]["service"] = {"type": "LoadBalancer"}
    rendered = render(values)
    sizes = {
        name: rendered.get("StatefulSet", f"verai-oracle-{name}")["spec"]["volumeClaimTemplates"][
            0
        ]["spec"]["resources"]["requests"]["storage"]
        for name in FOUR
    }
    assert sizes == {"alice": "2Gi", "bob": "2Gi", "carol": "10Gi", "dave": "2Gi"}
    confirmations = {
        name: env(rendered.get("StatefulSet", f"verai-oracle-{name}"))["VERAI_CONFIRMATIONS"]
        for name in FOUR
    }
    assert confirmations == {"alice": "3", "bob": "3", "carol": "3", "dave": "5"}
    # whole numbers stay whole: YAML numbers reach Helm as float64 (1e+07 otherwise)
    assert env(rendered.get("StatefulSet", "verai-oracle-alice"))["VERAI_GAS_CAP"] == "10000000"
    types = {n: rendered.get("Service", f"verai-oracle-{n}")["spec"]["type"] for n in FOUR}
    assert types == {"alice": "ClusterIP", "bob": "ClusterIP", "carol": "ClusterIP",
                     "dave": "LoadBalancer"}  # fmt: skip


def test_the_observer_has_no_key_and_never_signs():
    values = committee(FOUR)
    values["observer"] = {"enabled": True}
    rendered = render(values)
    observer = rendered.get("StatefulSet", "verai-observer")
    variables = env(observer)
    assert variables["VERAI_DRY_RUN"] == "true"
    assert not {"VERAI_KEYSTORE", "VERAI_PASSWORD_FILE", "VERAI_VRF_KEY_FILE"} & set(variables)
    assert not [v for v in pod_spec(observer)["volumes"] if "secret" in v]
    # it is not a member: the committee's budget does not count it
    budget = rendered.get("PodDisruptionBudget", "verai-oracle")
    labels = observer["spec"]["template"]["metadata"]["labels"]
    assert not selects(budget["spec"]["selector"]["matchLabels"], labels)
