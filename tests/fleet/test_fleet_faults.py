"""A fleet of 10 real agents through two Collector tiers into Thanos Receive, one fault per test, nothing lost.

Each test runs its own fleet (tests/fleet/fleetkit.py) on free ports, so xdist runs them side by side. After
the fault heals, every collection in every agent's spool must be in the store exactly once (PromQL through
Thanos Query), and the store's own rejection counters (out of order, out of bounds, too old, 4xx) stay 0.
Each test also shows that its fault did bite: some hosts fall behind while it lasts, or (a store node) that
nothing falls behind.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fleet.fleetkit import Collector, Count, Fleet, Missing, all_pinned, wait_until

AGENTS = 10
INTERVAL = "2s"

# One fleet at a time (--dist loadgroup): four fleets of 10 agents beside the rest of the suite on 2 cores made
# every one of them slow; in turn each takes its minute or two on one worker while the others run the rest.
pytestmark = pytest.mark.xdist_group("fleet")


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    try:
        f = Fleet(tmp_path / "fleet", agents=AGENTS, interval=INTERVAL)
    except Missing as err:
        # Required once `make stack-bin` pins every binary of the fleet (deploy/stack/pins.txt); until then a
        # machine without them skips.
        if os.environ.get("OTEL_MON_REQUIRE_INTEGRATION") == "1" and all_pinned():
            pytest.fail(str(err))
        pytest.skip(str(err))
    try:
        f.start()
        yield f
    finally:
        f.stop()


def behind(fleet: Fleet, lag: float = 6.0) -> Count:
    """The count of collections older than ``lag`` seconds: who is behind right now."""
    return fleet.count(time.time() - lag)


def assert_exactly_once(count: Count) -> None:
    assert count.expected >= AGENTS * 5, count
    assert count.ok, f"{count.line()} missing={count.missing} rejections={count.rejections}"


def assert_logs_exactly_once(fleet: Fleet) -> None:
    """Logs take the same two tiers: every record of every agent's log spool is in VictoriaLogs, once. The
    agents keep logging (a fault and its end are logged), so each poll reads the spools again."""
    logs = fleet.settle_logs()
    assert logs.expected >= AGENTS, logs
    assert logs.ok, f"{logs.line()} extra={logs.extra} per host (spooled, stored, distinct)={logs.per_host}"


def test_a_backend_killed_for_60_seconds_costs_latency_not_data(fleet: Fleet) -> None:
    fleet.wait_collections(3)
    victim = fleet.backends[0]
    victim.kill9()
    killed = time.monotonic()
    seen_behind: set[str] = set()

    def outage_over() -> bool:  # the outage lasts 60 s; meanwhile, watch which hosts wait in their spools
        seen_behind.update(behind(fleet).missing)
        return time.monotonic() - killed >= 60

    wait_until(outage_over, 90, "a 60 s backend outage", interval=3.0)
    assert seen_behind, "no host waited for the dead backend: the kill did not bite"
    assert len(seen_behind) < AGENTS, f"every host waited: the other backend carried nobody ({seen_behind})"
    victim.start()
    victim.wait_ready()
    assert_exactly_once(fleet.settle())
    assert_logs_exactly_once(fleet)


def test_a_load_balancer_killed_and_restarted_loses_and_doubles_nothing(fleet: Fleet) -> None:
    fleet.wait_collections(3)
    victim = fleet.load_balancers[0]
    victim.kill9()
    own = {a.host for i, a in enumerate(fleet.agents) if i % len(fleet.load_balancers) == 0}
    wait_until(lambda: own <= set(behind(fleet, 4.0).missing), 60, "the dead load balancer's agents fall behind",
               interval=2.0)
    victim.start()
    victim.wait_ready()
    assert_exactly_once(fleet.settle())
    assert_logs_exactly_once(fleet)


def test_a_store_node_killed_with_replication_on_stops_nothing(fleet: Fleet) -> None:
    fleet.wait_collections(3)
    victim = fleet.store.ingestors[1]
    victim.kill9()
    killed = time.time()
    # Replication factor 3, write quorum 2: with one ingestor down every write still succeeds, so collections
    # taken after the kill keep arriving from every host, and queries still answer from the other replicas.
    wait_until(lambda: fleet.count(killed + 8).missing == {} and time.time() > killed + 14, 90,
               "every host's collections stored while an ingestor is down", interval=2.0)
    victim.start()
    victim.wait_ready()
    assert_exactly_once(fleet.settle())
    assert fleet.store.forward_errors() > 0, "the router never missed the dead ingestor: the kill did not bite"
    assert_logs_exactly_once(fleet)


def test_a_backend_added_while_running_moves_a_share_of_hosts_and_splits_none(fleet: Fleet) -> None:
    fleet.wait_collections(3)
    old = {b.name for b in fleet.backends}
    added: list[Collector] = []

    def carries_some(backend: Collector) -> bool:
        return backend.counter("otelcol_receiver_accepted_metric_points") > 0

    # The ring's positions come from the backends' endpoints (random ports), so with 10 hosts the new backend
    # gets none about once in 60 runs: then one more is added, as an operator would.
    for _ in range(3):
        added.append(fleet.add_backend())
        n = len(fleet.agents[0].collections())
        try:
            wait_until(lambda: carries_some(added[-1]) or len(fleet.agents[0].collections()) >= n + 8, 60,
                       "the added backend receives a share of the hosts, or 8 collections pass", interval=1.0)
        except AssertionError:
            pass
        if carries_some(added[-1]):
            break
    new = {b.name for b in added}
    fleet.wait_collections(len(fleet.agents[0].collections()) + 5)
    assert_exactly_once(fleet.settle())
    # Per host, the backends that carried its batches in time order (target_info names the backend): a host
    # starts on an old backend and either stays or moves once to an added one, and never goes back, so no
    # host's series are written by two backends at once (which the store would reject as out of order).
    carried = fleet.backends_of_hosts(time.time())
    runs = {host: [b for i, (_, b) in enumerate(samples) if i == 0 or samples[i - 1][1] != b]
            for host, samples in carried.items()}
    assert all(r and r[0] in old for r in runs.values()), f"a host did not start on an old backend: {runs}"
    assert all(len(r) == len(set(r)) and set(r[1:]) <= new for r in runs.values()), f"a host's series split: {runs}"
    moved = {host for host, r in runs.items() if len(r) > 1}
    assert moved, f"no host moved to the added backend(s) {sorted(new)}: {runs}"
    assert len(moved) < len(runs), f"every host moved: the ring did not keep the old hosts in place: {runs}"
    assert_logs_exactly_once(fleet)
