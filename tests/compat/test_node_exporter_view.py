"""/metrics/node_exporter rendered from a fixture host's snapshot: values are the fixture's, read once.

The fixture's files hold values no real host has (MemTotal 8000000 kB, btime 1700000000), so every value
checked here can only come from the snapshot the agent took of the fixture, never from a read of this machine.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from otel_mon import config
from otel_mon.compat.families import FAMILIES
from otel_mon.compat.node_exporter import NodeExporterView, family_of
from otel_mon.host import registry
from otel_mon.host.paths import HostPaths
from otel_mon.host.sampler import HostSampler, Snapshot


def _snapshot(root: Path, **flags: str) -> tuple[HostSampler, HostPaths]:
    settings = config.load(env={}, flags={"root_path": str(root), **flags})
    paths = HostPaths(str(root))
    return HostSampler(registry.build(settings.host, paths)), paths


def _series(body: bytes) -> tuple[dict[tuple[str, tuple[tuple[str, str], ...]], float], dict[str, str]]:
    values, kinds = {}, {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            values[(s.name, tuple(sorted(s.labels.items())))] = s.value
            kinds[s.name] = family.type
    return values, kinds


def _field(text: str, key: str, column: int = 1) -> int:
    line = next(line for line in text.splitlines() if line.split()[:1] == [key] or line.startswith(key + ":"))
    return int(line.replace(":", " ").split()[column])


def test_fixture_values_come_through_in_node_exporter_names(fake_root: Callable[[str], Path]) -> None:
    root = fake_root("host1")
    sampler, paths = _snapshot(root)
    snap = sampler.refresh()
    values, kinds = _series(NodeExporterView(lambda: snap, paths).render(None, None).body)
    proc = root / "proc"
    meminfo, stat, vmstat = ((proc / n).read_text() for n in ("meminfo", "stat", "vmstat"))
    assert values[("node_memory_MemTotal_bytes", ())] == _field(meminfo, "MemTotal") * 1024 == 8_192_000_000
    assert values[("node_memory_MemAvailable_bytes", ())] == _field(meminfo, "MemAvailable") * 1024
    cpu0 = stat.splitlines()[1].split()
    for column, mode in enumerate(("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"), 1):
        assert values[("node_cpu_seconds_total", (("cpu", "0"), ("mode", mode)))] == int(cpu0[column]) / 100
    assert values[("node_boot_time_seconds", ())] == _field(stat, "btime") == 1_700_000_000
    assert values[("node_context_switches_total", ())] == _field(stat, "ctxt")
    assert values[("node_forks_total", ())] == _field(stat, "processes")
    assert values[("node_procs_blocked", ())] == _field(stat, "procs_blocked")
    assert values[("node_vmstat_pgpgin", ())] == _field(vmstat, "pgpgin")
    assert values[("node_vmstat_pgfault", ())] == _field(vmstat, "pgfault")
    load = (proc / "loadavg").read_text().split()
    assert [values[(f"node_load{w}", ())] for w in (1, 5, 15)] == [float(x) for x in load[:3]]
    sdz = next(line.split() for line in (proc / "diskstats").read_text().splitlines() if line.split()[2] == "sdz")
    assert values[("node_disk_read_bytes_total", (("device", "sdz"),))] == int(sdz[5]) * 512
    assert values[("node_disk_reads_completed_total", (("device", "sdz"),))] == int(sdz[3])
    assert values[("node_disk_io_now", (("device", "sdz"),))] == int(sdz[11])
    assert values[("node_disk_io_time_weighted_seconds_total", (("device", "sdz"),))] == int(sdz[13]) / 1000
    assert ("node_disk_read_bytes_total", (("device", "sdz1"),)) not in values  # the agent's disks filter
    eth0 = (proc / "net" / "dev").read_text().split("eth0:")[1].split()
    assert values[("node_network_receive_bytes_total", (("device", "eth0"),))] == int(eth0[0])
    assert values[("node_network_receive_drop_total", (("device", "eth0"),))] == int(eth0[3])
    assert values[("node_network_transmit_packets_total", (("device", "eth0"),))] == int(eth0[9])
    info = next(k for k in values if k[0] == "node_os_info")
    assert dict(info[1])["pretty_name"] == "Fake Linux 1.0" and values[info] == 1
    assert values[("node_os_version", (("id", ""), ("id_like", ""), ("name", "Fake Linux")))] == 1.0
    assert values[("node_time_seconds", ())] == snap.time
    assert values[("node_scrape_collector_success", (("collector", "meminfo"),))] == 1
    for name, kind in kinds.items():  # every family declared, with node_exporter's type
        row = family_of(name)
        assert row is not None, name
        assert kind == row.kind.replace("untyped", "unknown"), name


def test_one_render_per_snapshot_however_many_scrapes(fake_root: Callable[[str], Path]) -> None:
    sampler, paths = _snapshot(fake_root("host1"))
    current: list[Snapshot] = [sampler.refresh()]
    view = NodeExporterView(lambda: current[0], paths)
    first = view.render(None, None)
    assert all(view.render(None, None) is first for _ in range(5))
    zipped = view.render(None, "gzip")
    assert zipped.header("Content-Encoding") == "gzip" and view.renders == 1
    current[0] = sampler.refresh()
    assert view.render(None, None) is not first and view.renders == 2
    assert first.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8"


def test_a_domain_switched_off_drops_its_families_and_its_collector(fake_root: Callable[[str], Path]) -> None:
    sampler, paths = _snapshot(fake_root("host1"), **{"collectors.memory": "false"})
    snap = sampler.refresh()
    values, _ = _series(NodeExporterView(lambda: snap, paths).render(None, None).body)
    assert not [k for k in values if k[0].startswith("node_memory_")]
    assert ("node_scrape_collector_success", (("collector", "meminfo"),)) not in values
    assert ("node_scrape_collector_success", (("collector", "cpu"),)) in values


def test_no_snapshot_yet_is_an_empty_body(tmp_path: Path) -> None:
    view = NodeExporterView(lambda: None, HostPaths(str(tmp_path)))
    response = view.render(None, None)
    assert response.status == 200 and response.body == b""


def test_table_rows_are_unique_and_typed() -> None:
    names = [f.name for f in FAMILIES]
    assert len(names) == len(set(names))
    assert {f.kind for f in FAMILIES} <= {"counter", "gauge", "untyped"}
    assert all(f.name.endswith("_total") == (f.kind == "counter") for f in FAMILIES)


def test_every_source_named_as_a_metric_is_one_of_the_agents() -> None:
    from otel_mon.host.table import BY_NAME

    named = [f.source for f in FAMILIES if "." in f.source and " " not in f.source]
    assert len(named) > 40
    assert [s for s in named if s not in BY_NAME] == []
