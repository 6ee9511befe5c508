"""Allocation engine: the three paths agree, are exact, canonical, and reject malformed input."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from oracle.allocation import (
    RESULT_SCHEMA,
    SNAPSHOT_SCHEMA,
    Allocation,
    AllocationError,
    CostOverflow,
    DuplicateId,
    Entry,
    InvalidValue,
    MalformedSnapshot,
    Node,
    PathNotApplicable,
    Snapshot,
    Surcharge,
    Task,
    UnknownClass,
    UnknownReference,
    Unmet,
    allocate,
    serve_single_demand,
    solve_lp_relaxation,
    validate_allocation,
)
from oracle.errors import OracleError

PATHS = ("structured", "mcf", "lp")
CLASSES = ("GPU-A", "GPU-B")
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------------------------ strategies
@st.composite
def snapshots(
    draw: st.DrawFn,
    max_nodes: int = 7,
    max_tasks: int = 5,
    max_units: int = 9,
    prices: st.SearchStrategy[int] | None = None,
) -> Snapshot:
    """Small snapshots with many ties: few price levels, two classes, some inactive nodes,
    zero free units, zero-unit tasks, infeasible demand."""
    price = prices if prices is not None else st.integers(0, 8)
    node_ids = draw(st.lists(st.integers(0, 50), max_size=max_nodes, unique=True))
    task_ids = draw(st.lists(st.integers(0, 50), max_size=max_tasks, unique=True))
    nodes = [
        Node(
            id=i,
            resource_class=draw(st.sampled_from(CLASSES)),
            free_units=draw(st.integers(0, 6)),
            price=draw(price),
            status=draw(st.sampled_from(("active",) * 5 + ("failed", "throttled"))),
        )
        for i in node_ids
    ]
    tasks = [
        Task(
            id=j,
            resource_class=draw(st.sampled_from(CLASSES)),
            units=draw(st.integers(0, max_units)),
            max_price=draw(price),
        )
        for j in task_ids
    ]
    return Snapshot(classes=CLASSES, nodes=tuple(nodes), tasks=tuple(tasks))


def huge_prices() -> st.SearchStrategy[int]:
    """Prices up to 2**128, clustered so that ties and near-ties occur."""
    base = st.sampled_from((0, 2**64, 2**127, 2**128 - 2**20))
    return st.builds(lambda b, k: min(b + k, 2**128), base, st.integers(0, 2**20))


# ------------------------------------------------------------------------------------ references
def eligible(snapshot: Snapshot) -> list[tuple[Task, Node]]:
    return [
        (t, n)
        for t in snapshot.tasks
        for n in snapshot.nodes
        if n.status == "active"
        and n.resource_class == t.resource_class
        and n.price <= t.max_price
        and n.free_units > 0
        and t.units > 0
    ]


def brute_force(snapshot: Snapshot) -> tuple[int, int]:
    """(max served units, min cost among those) by enumerating every integral allocation."""
    pairs = eligible(snapshot)
    best = (0, 0)
    ranges = [range(min(t.units, n.free_units) + 1) for t, n in pairs]
    for xs in itertools.product(*ranges):
        per_task: dict[int, int] = {}
        per_node: dict[int, int] = {}
        for (t, n), x in zip(pairs, xs, strict=True):
            per_task[t.id] = per_task.get(t.id, 0) + x
            per_node[n.id] = per_node.get(n.id, 0) + x
        tasks = {t.id: t for t in snapshot.tasks}
        nodes = {n.id: n for n in snapshot.nodes}
        if any(v > tasks[k].units for k, v in per_task.items()):
            continue
        if any(v > nodes[k].free_units for k, v in per_node.items()):
            continue
        served = sum(xs)
        cost = sum(n.price * x for (_, n), x in zip(pairs, xs, strict=True))
        if served > best[0] or (served == best[0] and cost < best[1]):
            best = (served, cost)
    return best


def min_cost_max_flow(snapshot: Snapshot) -> tuple[int, int]:
    """Successive shortest paths (Bellman-Ford) in exact Python integers."""
    pairs = eligible(snapshot)
    tasks = sorted({t.id for t, _ in pairs})
    nodes = sorted({n.id for _, n in pairs})
    size = 2 + len(tasks) + len(nodes)
    source, sink = 0, 1
    t_index = {t: 2 + k for k, t in enumerate(tasks)}
    n_index = {n: 2 + len(tasks) + k for k, n in enumerate(nodes)}
    graph: list[list[list[int]]] = [[] for _ in range(size)]  # [to, cap, cost, rev]

    def arc(u: int, v: int, cap: int, cost: int) -> None:
        graph[u].append([v, cap, cost, len(graph[v])])
        graph[v].append([u, 0, -cost, len(graph[u]) - 1])

    units = {t.id: t.units for t, _ in pairs}
    free = {n.id: n.free_units for _, n in pairs}
    for t in tasks:
        arc(source, t_index[t], units[t], 0)
    for n in nodes:
        arc(n_index[n], sink, free[n], 0)
    for t, n in pairs:
        arc(t_index[t.id], n_index[n.id], min(t.units, n.free_units), n.price)
    served = cost = 0
    while True:
        dist: list[int | None] = [None] * size
        back: list[tuple[int, int] | None] = [None] * size
        dist[source] = 0
        for _ in range(size):
            changed = False
            for u in range(size):
                du = dist[u]
                if du is None:
                    continue
                for k, (v, cap, c, _) in enumerate(graph[u]):
                    dv = dist[v]
                    if cap > 0 and (dv is None or du + c < dv):
                        dist[v] = du + c
                        back[v] = (u, k)
                        changed = True
            if not changed:
                break
        if dist[sink] is None:
            return served, cost
        push = None
        v = sink
        while v != source:
            link = back[v]
            assert link is not None
            u, k = link
            push = graph[u][k][1] if push is None else min(push, graph[u][k][1])
            v = u
        assert push is not None
        v = sink
        while v != source:
            link = back[v]
            assert link is not None
            u, k = link
            graph[u][k][1] -= push
            graph[v][graph[u][k][3]][1] += push
            v = u
        served += push
        path_cost = dist[sink]
        assert path_cost is not None
        cost += push * path_cost


def check_feasible(snapshot: Snapshot, result: Allocation) -> None:
    """Independent feasibility check (not validate_allocation)."""
    nodes = {n.id: n for n in snapshot.nodes}
    tasks = {t.id: t for t in snapshot.tasks}
    used: dict[int, int] = {}
    served: dict[int, int] = {}
    for e in result.entries:
        node, task = nodes[e.node], tasks[e.task]
        assert e.units > 0
        assert node.status == "active"
        assert node.resource_class == task.resource_class
        assert e.price == node.price <= task.max_price
        used[e.node] = used.get(e.node, 0) + e.units
        served[e.task] = served.get(e.task, 0) + e.units
    for node_id, units in used.items():
        assert units <= nodes[node_id].free_units
    unmet = {u.task: u.units for u in result.unmet}
    for task in snapshot.tasks:
        assert served.get(task.id, 0) + unmet.get(task.id, 0) == task.units


def shuffled(snapshot: Snapshot, seed: int) -> Snapshot:
    rng = random.Random(seed)
    return Snapshot(
        classes=tuple(rng.sample(snapshot.classes, len(snapshot.classes))),
        nodes=tuple(rng.sample(snapshot.nodes, len(snapshot.nodes))),
        tasks=tuple(rng.sample(snapshot.tasks, len(snapshot.tasks))),
        surcharges=tuple(rng.sample(snapshot.surcharges, len(snapshot.surcharges))),
    )


# ------------------------------------------------------------------------------------ named cases
def seed_snapshot() -> Snapshot:
    return Snapshot(
        classes=("GPU",),
        nodes=(Node(1, "GPU", 100, 10), Node(2, "GPU", 80, 15), Node(3, "GPU", 50, 20)),
        tasks=(Task(7, "GPU", 150, 20),),
    )


@pytest.mark.parametrize("path", PATHS)
def test_seed_example_prices_10_15_20_caps_100_80_50_demand_150_serves_100_50_0(path: str) -> None:
    result = allocate(seed_snapshot(), path)  # type: ignore[arg-type]
    assert result.entries == (Entry(7, 1, 100, 10), Entry(7, 2, 50, 15))
    assert result.unmet == ()
    assert result.cost == 100 * 10 + 50 * 15


def test_serve_single_demand_seed_example_returns_100_50_0() -> None:
    served = serve_single_demand([10, 15, 20], [100, 80, 50], 150)
    assert served.tolist() == [100, 50, 0]


def test_tie_break_serves_smaller_eligible_set_first_then_lower_task_id() -> None:
    snapshot = Snapshot(
        classes=("G",),
        nodes=(Node(1, "G", 2, 5), Node(2, "G", 2, 5), Node(3, "G", 4, 9)),
        tasks=(Task(30, "G", 2, 9), Task(20, "G", 2, 9), Task(40, "G", 2, 5)),
    )
    result = allocate(snapshot)
    # Task 40 (only the price-5 nodes) first, then tasks 20 and 30 (same set) by id.
    assert result.entries == (
        Entry(20, 2, 2, 5),
        Entry(30, 3, 2, 9),
        Entry(40, 1, 2, 5),
    )


def test_demand_exceeding_supply_reports_unmet_units_not_an_error() -> None:
    snapshot = Snapshot(
        classes=("G", "C"),
        nodes=(Node(1, "G", 3, 10), Node(2, "C", 5, 1)),
        tasks=(Task(1, "G", 5, 10), Task(2, "C", 2, 0), Task(3, "G", 1, 9)),
    )
    for path in PATHS:
        result = allocate(snapshot, path)  # type: ignore[arg-type]
        assert result.served_units == 3
        assert result.unmet == (Unmet(1, 2), Unmet(2, 2), Unmet(3, 1))


def test_ineligible_nodes_are_never_used() -> None:
    snapshot = Snapshot(
        classes=("G", "C"),
        nodes=(
            Node(1, "G", 5, 1, "failed"),
            Node(2, "G", 5, 1, "throttled"),
            Node(3, "C", 5, 1),
            Node(4, "G", 0, 1),
            Node(5, "G", 5, 11),
            Node(6, "G", 1, 10),
        ),
        tasks=(Task(9, "G", 4, 10),),
    )
    for path in PATHS:
        result = allocate(snapshot, path)  # type: ignore[arg-type]
        assert result.entries == (Entry(9, 6, 1, 10),)
        assert result.unmet == (Unmet(9, 3),)


def test_empty_snapshot_allocates_nothing() -> None:
    empty = Snapshot(classes=(), nodes=(), tasks=())
    for path in PATHS:
        assert allocate(empty, path) == Allocation(entries=(), unmet=())  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ properties
@FAST
@given(snapshots())
def test_paths_agree_on_served_units_and_cost(snapshot: Snapshot) -> None:
    results = [allocate(snapshot, path) for path in PATHS]  # type: ignore[arg-type]
    for result in results:
        check_feasible(snapshot, result)
        validate_allocation(snapshot, result)
    assert len({(r.served_units, r.cost) for r in results}) == 1


@settings(max_examples=300, deadline=None)
@given(snapshots(max_nodes=3, max_tasks=2, max_units=3, prices=huge_prices()))
def test_structured_is_optimal_against_brute_force_with_prices_up_to_2_128(
    snapshot: Snapshot,
) -> None:
    result = allocate(snapshot, "structured")
    check_feasible(snapshot, result)
    assert (result.served_units, result.cost) == brute_force(snapshot)


@settings(max_examples=150, deadline=None)
@given(snapshots(max_nodes=8, max_tasks=6, prices=huge_prices()))
def test_structured_matches_exact_min_cost_max_flow_with_prices_up_to_2_128(
    snapshot: Snapshot,
) -> None:
    result = allocate(snapshot, "structured")
    assert (result.served_units, result.cost) == min_cost_max_flow(snapshot)


@FAST
@given(snapshots(max_nodes=10, max_tasks=8))
def test_numpy_and_pure_python_structured_twins_agree(snapshot: Snapshot) -> None:
    from oracle.allocation import _allocate_structured

    assert _allocate_structured(snapshot, use_numpy=True) == _allocate_structured(
        snapshot, use_numpy=False
    )


@FAST
@given(snapshots(), st.integers(0, 2**32))
def test_permuting_the_input_never_changes_the_output_bytes(snapshot: Snapshot, seed: int) -> None:
    other = shuffled(snapshot, seed)
    assert other.to_json() == snapshot.to_json()
    for path in PATHS:
        first = allocate(snapshot, path).to_json()  # type: ignore[arg-type]
        assert allocate(other, path).to_json() == first  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(snapshots(max_nodes=10, max_tasks=8))
def test_lp_relaxation_solutions_are_integral(snapshot: Snapshot) -> None:
    relaxation = solve_lp_relaxation(snapshot)
    x = np.asarray(relaxation.x)
    assert np.all(np.abs(x - np.rint(x)) <= 1e-9)


@FAST
@given(
    st.lists(st.integers(0, 10**6), min_size=1, max_size=30),
    st.lists(st.integers(0, 50), min_size=30, max_size=30),
    st.integers(0, 800),
)
def test_serve_single_demand_equals_the_structured_path(
    prices: list[int], free: list[int], demand: int
) -> None:
    free = free[: len(prices)]
    served = serve_single_demand(prices, free, demand)
    snapshot = Snapshot(
        classes=("G",),
        nodes=tuple(Node(i, "G", f, p) for i, (p, f) in enumerate(zip(prices, free, strict=True))),
        tasks=(Task(0, "G", demand, max(prices)),),
    )
    expected = [0] * len(prices)
    for e in allocate(snapshot).entries:
        expected[e.node] = e.units
    assert served.tolist() == expected


def sorted_rule(prices: np.ndarray, free: np.ndarray, demand: int) -> np.ndarray:
    """The seed's rule spelled out with a full sort: cheapest first, ties by index."""
    order = np.argsort(prices, kind="stable")
    before = np.cumsum(free[order]) - free[order]
    served = np.empty_like(free)
    served[order] = np.clip(demand - before, 0, free[order])
    return served


@pytest.mark.parametrize("seed", range(12))
def test_serve_single_demand_on_large_arrays_matches_the_sorted_rule(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4_100, 30_000))
    levels = int(rng.choice([3, 50, 10**6, 10**12]))  # heavy ties ... all distinct
    prices = rng.integers(0, levels, n)
    free = rng.integers(0, 17, n)
    if seed % 3 == 0:
        free[rng.integers(0, n, 5)] = 10**9  # a few huge nodes: the sampled bracket misses
    for share in (0.0, 0.01, 0.5, 0.99, 1.0, 1.5):
        demand = int(free.sum() * share)
        assert (
            serve_single_demand(prices, free, demand) == sorted_rule(prices, free, demand)
        ).all()


# ------------------------------------------------------------------------------------ big numbers
def test_mcf_rescales_a_huge_common_base_price_exactly() -> None:
    base = 2**200
    step = 10**9
    rng = random.Random(7)
    nodes = tuple(
        Node(i, "G", rng.randint(1, 9), base + rng.randint(0, 50) * step) for i in range(40)
    )
    tasks = tuple(
        Task(100 + j, "G", rng.randint(1, 12), base + rng.randint(0, 60) * step) for j in range(15)
    )
    snapshot = Snapshot(classes=("G",), nodes=nodes, tasks=tasks)
    structured = allocate(snapshot, "structured")
    for path in ("mcf", "lp"):
        other = allocate(snapshot, path)  # type: ignore[arg-type]
        assert (other.served_units, other.cost) == (structured.served_units, structured.cost)
    assert structured.cost > 2**200


def test_mcf_refuses_costs_that_could_overflow_int64() -> None:
    snapshot = Snapshot(
        classes=("G",),
        nodes=(Node(1, "G", 1, 0), Node(2, "G", 1, 1), Node(3, "G", 1, 2**100)),
        tasks=(Task(1, "G", 3, 2**100),),
    )
    with pytest.raises(CostOverflow) as caught:
        allocate(snapshot, "mcf")
    assert caught.value.field == "price"
    assert caught.value.value == 2**100
    assert "int64" in str(caught.value)
    # The structured path is exact for the same snapshot.
    assert allocate(snapshot, "structured").cost == 1 + 2**100


def test_a_node_priced_beyond_every_cap_never_overflows_the_network_paths() -> None:
    # node 3 heads no arc (its price is above the only cap); its rescaled price is beyond int64
    snapshot = Snapshot(
        classes=("G",),
        nodes=(Node(1, "G", 2, 10), Node(2, "G", 2, 11), Node(3, "G", 5, 2**200)),
        tasks=(Task(1, "G", 3, 100),),
    )
    expected = allocate(snapshot, "structured")
    for path in ("mcf", "lp"):
        result = allocate(snapshot, path)  # type: ignore[arg-type]
        assert (
            (result.served_units, result.cost) == (expected.served_units, expected.cost) == (3, 31)
        )


def test_lp_refuses_costs_not_exact_in_float64() -> None:
    snapshot = Snapshot(
        classes=("G",),
        nodes=(Node(1, "G", 1, 0), Node(2, "G", 1, 1), Node(3, "G", 1, 2**60)),
        tasks=(Task(1, "G", 3, 2**60),),
    )
    with pytest.raises(CostOverflow) as caught:
        allocate(snapshot, "lp")
    assert caught.value.field == "price"
    assert "2**53" in str(caught.value)


def test_lp_takes_the_max_flow_route_when_demand_exceeds_supply() -> None:
    snapshot = Snapshot(
        classes=("G",),
        nodes=(Node(1, "G", 2, 1), Node(2, "G", 2, 5)),
        tasks=(Task(1, "G", 3, 1), Task(2, "G", 3, 5)),
    )
    assert solve_lp_relaxation(snapshot).phases == 3
    assert allocate(snapshot, "lp").served_units == 4
    assert solve_lp_relaxation(seed_snapshot()).phases == 1


# ------------------------------------------------------------------------------------ surcharges
def test_surcharges_move_the_optimum_and_need_the_mcf_or_lp_path() -> None:
    snapshot = Snapshot(
        classes=("G",),
        nodes=(Node(1, "G", 4, 10), Node(2, "G", 4, 12)),
        tasks=(Task(5, "G", 4, 20),),
        surcharges=(Surcharge(task=5, node=1, wei=5),),
    )
    with pytest.raises(PathNotApplicable) as caught:
        allocate(snapshot, "structured")
    assert caught.value.field == "path"
    for path in (None, "mcf", "lp"):
        result = allocate(snapshot, path)  # type: ignore[arg-type]
        # 10 + 5 > 12: node 2 is cheaper once the surcharge counts; the price paid is 12.
        assert result.entries == (Entry(5, 2, 4, 12),)


@settings(max_examples=80, deadline=None)
@given(snapshots(max_nodes=6, max_tasks=4), st.data())
def test_mcf_and_lp_agree_with_surcharges(snapshot: Snapshot, data: st.DataObject) -> None:
    pairs = [(t.id, n.id) for t in snapshot.tasks for n in snapshot.nodes]
    assume(pairs)
    chosen = data.draw(st.lists(st.sampled_from(pairs), unique=True, max_size=6))
    with_extra = Snapshot(
        classes=snapshot.classes,
        nodes=snapshot.nodes,
        tasks=snapshot.tasks,
        surcharges=tuple(Surcharge(t, n, data.draw(st.integers(0, 9))) for t, n in chosen),
    )
    extra = {(s.task, s.node): s.wei for s in with_extra.surcharges}
    mcf = allocate(with_extra, "mcf")
    lp = allocate(with_extra, "lp")
    for result in (mcf, lp):
        check_feasible(with_extra, result)

    def objective(result: Allocation) -> int:
        return sum(e.units * (e.price + extra.get((e.task, e.node), 0)) for e in result.entries)

    assert (mcf.served_units, objective(mcf)) == (lp.served_units, objective(lp))
    # Served units never depend on the costs.
    assert mcf.served_units == allocate(snapshot).served_units


# ------------------------------------------------------------------------------------ JSON
@FAST
@given(snapshots())
def test_snapshot_and_result_json_round_trip(snapshot: Snapshot) -> None:
    assert Snapshot.from_json(snapshot.to_json()) == snapshot
    result = allocate(snapshot)
    assert Allocation.from_json(result.to_json()) == result


def test_json_accepts_integers_and_decimal_strings_and_writes_strings() -> None:
    document = {
        "schema": SNAPSHOT_SCHEMA,
        "classes": ["G"],
        "nodes": [{"id": 1, "class": "G", "free_units": 3, "price": "10", "status": "active"}],
        "tasks": [{"id": "2", "class": "G", "units": 2, "max_price": 2**200}],
    }
    snapshot = Snapshot.from_json(json.dumps(document))
    assert snapshot.tasks[0].max_price == 2**200
    written = json.loads(snapshot.to_json())
    assert written["nodes"][0]["id"] == "1"
    assert written["tasks"][0]["max_price"] == str(2**200)
    assert written["surcharges"] == []
    result = json.loads(allocate(snapshot).to_json())
    assert result == {
        "schema": RESULT_SCHEMA,
        "entries": [{"task": "2", "node": "1", "units": 2, "price": "10"}],
        "unmet": [],
        "cost": "20",
    }


def test_result_json_with_a_wrong_cost_is_rejected() -> None:
    text = allocate(seed_snapshot()).to_json().replace('"cost":"1750"', '"cost":"1751"')
    with pytest.raises(MalformedSnapshot) as caught:
        Allocation.from_json(text)
    assert caught.value.field == "cost"


# ------------------------------------------------------------------------------------ malformed
def document(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "schema": SNAPSHOT_SCHEMA,
        "classes": ["G"],
        "nodes": [{"id": "1", "class": "G", "free_units": 3, "price": "10", "status": "active"}],
        "tasks": [{"id": "2", "class": "G", "units": 2, "max_price": "12"}],
    }
    base.update(changes)
    return base


def node_doc(**changes: object) -> list[dict[str, object]]:
    node: dict[str, object] = {
        "id": "1",
        "class": "G",
        "free_units": 3,
        "price": "10",
        "status": "active",
    }
    node.update(changes)
    return [node]


def task_doc(**changes: object) -> list[dict[str, object]]:
    task: dict[str, object] = {"id": "2", "class": "G", "units": 2, "max_price": "12"}
    task.update(changes)
    return [task]


MALFORMED = [
    ("negative units", document(tasks=task_doc(units=-1)), InvalidValue, "tasks[0].units", -1),
    ("bool units", document(tasks=task_doc(units=True)), InvalidValue, "tasks[0].units", True),
    (
        "float units",
        document(nodes=node_doc(free_units=1.5)),
        InvalidValue,
        "nodes[0].free_units",
        1.5,
    ),
    (
        "units beyond 2**53",
        document(nodes=node_doc(free_units=2**53)),
        InvalidValue,
        "nodes[0].free_units",
        2**53,
    ),
    (
        "price beyond uint256",
        document(nodes=node_doc(price=str(2**256))),
        InvalidValue,
        "nodes[0].price",
        str(2**256),
    ),
    (
        "zero-padded price",
        document(nodes=node_doc(price="010")),
        InvalidValue,
        "nodes[0].price",
        "010",
    ),
    ("negative price", document(nodes=node_doc(price="-1")), InvalidValue, "nodes[0].price", "-1"),
    (
        "unknown status",
        document(nodes=node_doc(status="asleep")),
        InvalidValue,
        "nodes[0].status",
        "asleep",
    ),
    (
        "unknown class",
        document(tasks=task_doc(**{"class": "TPU"})),
        UnknownClass,
        "task 2.class",
        "TPU",
    ),
    ("empty class", document(nodes=node_doc(**{"class": ""})), InvalidValue, "nodes[0].class", ""),
    ("duplicate node id", document(nodes=node_doc() + node_doc()), DuplicateId, "node.id", 1),
    ("duplicate task id", document(tasks=task_doc() + task_doc()), DuplicateId, "task.id", 2),
    ("duplicate class", document(classes=["G", "G"]), DuplicateId, "classes", "G"),
    (
        "missing key",
        document(tasks=[{"id": "2", "class": "G", "units": 2}]),
        MalformedSnapshot,
        "tasks[0].max_price",
        None,
    ),
    (
        "unknown key",
        document(nodes=node_doc(colour="red")),
        MalformedSnapshot,
        "nodes[0].colour",
        "red",
    ),
    (
        "wrong schema",
        document(schema="verai.allocation.snapshot/0"),
        MalformedSnapshot,
        "schema",
        "verai.allocation.snapshot/0",
    ),
    ("nodes not a list", document(nodes={"id": 1}), MalformedSnapshot, "nodes", {"id": 1}),
    (
        "surcharge unknown task",
        document(surcharges=[{"task": "9", "node": "1", "wei": "1"}]),
        UnknownReference,
        "surcharge.task",
        9,
    ),
    (
        "surcharge unknown node",
        document(surcharges=[{"task": "2", "node": "8", "wei": "1"}]),
        UnknownReference,
        "surcharge.node",
        8,
    ),
]


@pytest.mark.parametrize(
    ("doc", "error", "field", "value"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
def test_malformed_snapshot_raises_error_naming_field_and_value(
    doc: dict[str, object], error: type[AllocationError], field: str, value: object
) -> None:
    with pytest.raises(error) as caught:
        Snapshot.from_json(json.dumps(doc))
    assert isinstance(caught.value, OracleError)
    assert caught.value.field == field
    assert caught.value.value == value
    assert field in str(caught.value)


def test_snapshot_that_is_not_json_raises_malformed_snapshot() -> None:
    with pytest.raises(MalformedSnapshot) as caught:
        Snapshot.from_json("{nodes: [")
    assert caught.value.field == "snapshot"
    assert "not valid JSON" in str(caught.value)


def test_python_constructors_validate_too() -> None:
    with pytest.raises(InvalidValue) as caught:
        Node(1, "G", -3, 10)
    assert caught.value.field == "node 1.free_units"
    with pytest.raises(InvalidValue):
        Task(1, "G", 1, -1)
    with pytest.raises(InvalidValue):
        allocate(seed_snapshot(), "simplex")  # type: ignore[arg-type]


def test_validate_allocation_rejects_entries_beyond_free_units_or_cap() -> None:
    snapshot = seed_snapshot()
    too_much = Allocation(entries=(Entry(7, 1, 101, 10), Entry(7, 2, 49, 15)), unmet=())
    with pytest.raises(InvalidValue) as caught:
        validate_allocation(snapshot, too_much)
    assert caught.value.field == "node 1.units"
    over_cap = Snapshot(classes=("GPU",), nodes=snapshot.nodes, tasks=(Task(7, "GPU", 150, 12),))
    with pytest.raises(InvalidValue) as caught:
        validate_allocation(over_cap, allocate(snapshot))
    assert caught.value.field == "entry (7, 2).price"


def assert_sorted(entries: Sequence[Entry]) -> None:
    assert list(entries) == sorted(entries, key=lambda e: (e.task, e.node))


@FAST
@given(snapshots())
def test_entries_come_in_canonical_task_node_order_one_per_pair(snapshot: Snapshot) -> None:
    for path in PATHS:
        result = allocate(snapshot, path)  # type: ignore[arg-type]
        assert_sorted(result.entries)
        assert len({(e.task, e.node) for e in result.entries}) == len(result.entries)
