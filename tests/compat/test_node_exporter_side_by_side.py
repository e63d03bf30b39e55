"""node_exporter 1.12.1 and the agent's /metrics/node_exporter on this host at the same moment.

For every family the compat endpoint serves: node_exporter serves it too, with the same type and the same
label sets; each value is held between the agent's two snapshots that bracket node_exporter's read (a counter
exactly: agent before <= node_exporter <= agent after; a gauge within the tolerance stated below; a constant
exactly). node_exporter runs with the agent's default device, interface and mount filters (translated from
the agent's own defaults), so both look at the same devices.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.compat.peers import NodeExporter, get, node_exporter_as_the_agent
from tests.conftest import AgentProcess, wait_until

pytestmark = pytest.mark.integration

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]

# Values that do not move while the test runs: equal exactly.
CONSTANT = re.compile(r"node_(memory_(MemTotal|SwapTotal|VmallocTotal|Hugepagesize)_bytes|memory_HugePages_Total"
                      r"|filesystem_(size_bytes|files|readonly|device_error)|filefd_maximum|nf_conntrack_entries_limit"
                      r"|boot_time_seconds|uname_info|os_info|os_version|time_zone_offset_seconds"
                      r"|scrape_collector_success|timex_sync_status)$")
# Gauges that move with the machine (eight engineers share it): within the bracket, widened by a tolerance.
MEMORY_SLACK = 0.03  # of MemTotal, for node_memory_*_bytes that are not constant
FS_SLACK = 0.01  # of the filesystem's size, for free/avail bytes and free inodes
GAUGE_SLACK = {"node_load1": 1.0, "node_load5": 0.5, "node_load15": 0.3, "node_procs_running": 30,
               "node_procs_blocked": 10, "node_filefd_allocated": 2000, "node_disk_io_now": 64,
               "node_nf_conntrack_entries": 500, "node_timex_offset_seconds": 0.01, "node_timex_maxerror_seconds": 1.0,
               "node_cpu_scaling_frequency_hertz": 5e8}
NOT_COMPARED = {"node_scrape_collector_duration_seconds"}  # two implementations' own durations


def parse(text: str) -> tuple[Series, dict[str, str]]:
    series: Series = {}
    kinds: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if not s.name.startswith("node_"):
                continue
            series[(s.name, frozenset(s.labels.items()))] = s.value
            kinds[s.name] = family.type
    return series, kinds


@pytest.fixture
def side_by_side(start_agent: Callable[..., AgentProcess], tmp_path: Path) -> Iterator[tuple[NodeExporter,
                                                                                           AgentProcess]]:
    exporter = node_exporter_as_the_agent(tmp_path)
    agent = start_agent("--interval", "1s", "--set", "compat.node_exporter=true", "--set", "spool.enabled=false")
    try:
        yield exporter, agent
    finally:
        exporter.stop()


def _agent_scrape(agent: AgentProcess) -> tuple[Series, dict[str, str], float]:
    status, body = agent.get("/metrics/node_exporter")
    assert status == 200, body[:200]
    series, kinds = parse(body.decode())
    return series, kinds, series[("node_time_seconds", frozenset())]


def test_every_family_served_matches_node_exporter_on_this_host(
        side_by_side: tuple[NodeExporter, AgentProcess]) -> None:
    exporter, agent = side_by_side
    before, kinds, t_before = _agent_scrape(agent)
    # node_exporter reads strictly after the agent's first snapshot, and strictly before its second.
    wait_until(lambda: time.time() > t_before + 0.3, 5, what="a moment after the first snapshot")
    theirs, their_kinds = parse(get(exporter.url).decode())
    t_theirs = theirs[("node_time_seconds", frozenset())]

    def newer() -> tuple[Series, dict[str, str], float] | None:
        got = _agent_scrape(agent)
        return got if got[2] > t_theirs + 0.3 else None

    after, _, _ = wait_until(newer, 20, what="an agent snapshot after node_exporter's read")

    ours_families = {name for name, _ in before}
    assert len(ours_families) >= 60, sorted(ours_families)
    problems: list[str] = []
    for family in sorted(ours_families):
        if family not in their_kinds:
            problems.append(f"{family}: node_exporter does not serve it")
            continue
        if kinds[family] != their_kinds[family]:
            problems.append(f"{family}: type {kinds[family]}, node_exporter's {their_kinds[family]}")
        mine = {labels for name, labels in before if name == family}
        their = {labels for name, labels in theirs if name == family}
        if family.startswith("node_scrape_collector_"):
            if not mine <= their:
                problems.append(f"{family}: collectors node_exporter lacks: {sorted(mine - their)}")
        elif mine != their or mine != {labels for name, labels in after if name == family}:
            problems.append(f"{family}: label sets differ: only ours {sorted(map(sorted, mine - their))}, "
                            f"only node_exporter's {sorted(map(sorted, their - mine))}")
            continue
        if family in NOT_COMPARED:
            continue
        for labels in mine:
            key = (family, labels)
            problem = _compare(key, before[key], theirs[key], after[key], kinds[family], before)
            if problem:
                problems.append(problem)
    assert problems == [], "\n".join(problems)


def _compare(key: tuple[str, frozenset[tuple[str, str]]], a: float, theirs: float, b: float, kind: str,
             snapshot: Series) -> str | None:
    name, labels = key
    where = f"{name}{dict(sorted(labels))}: agent {a:g} .. {b:g}, node_exporter {theirs:g}"
    if CONSTANT.match(name):
        return None if a == theirs == b else f"{where} (a constant must be equal)"
    lo, hi = min(a, b), max(a, b)
    if kind in ("counter", "unknown") or name == "node_time_seconds":
        eps = 1e-6 * max(1.0, abs(hi))  # the same integers, divided the same way; only float noise
        return None if lo - eps <= theirs <= hi + eps else f"{where} (a counter must lie between)"
    if name.startswith("node_memory_"):
        slack = MEMORY_SLACK * snapshot[("node_memory_MemTotal_bytes", frozenset())]
    elif name.startswith("node_filesystem_"):
        size = snapshot[("node_filesystem_size_bytes", labels)]
        files = snapshot.get(("node_filesystem_files", labels), 0.0)
        slack = FS_SLACK * (files if "files" in name else size)
    else:
        slack = GAUGE_SLACK.get(name, 0.0)
    return None if lo - slack <= theirs <= hi + slack else f"{where} (tolerance {slack:g})"
