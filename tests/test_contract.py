"""The metric table is the contract: what is emitted is declared, with the declared unit, kind and attributes."""

from __future__ import annotations

import os

import psutil
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import Gauge, InMemoryMetricReader, Sum

from otel_mon import config
from otel_mon.config import metric_enabled
from otel_mon.docgen import DOC, render
from otel_mon.host import registry
from otel_mon.host.paths import HostPaths
from otel_mon.host.sampler import HostSampler
from otel_mon.host.table import BY_NAME, HOST_DOMAINS, METRICS
from otel_mon.instruments import Instruments


def collect(flags: dict[str, str]) -> dict[str, object]:
    settings = config.load(env={}, flags=flags)
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    instruments = Instruments(provider.get_meter("t"), lambda s: metric_enabled(settings, s), table=METRICS)
    sampler = HostSampler(registry.build(settings.host, HostPaths("/")))
    sampler.register_metrics(instruments)
    sampler.refresh()
    sampler.refresh()  # utilisation needs two reads
    data = reader.get_metrics_data()
    provider.shutdown()
    sampler.close()
    assert data is not None
    return {m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}


def conditional(name: str) -> bool:
    """Metrics the host may legitimately lack: no sensors, no swap, no cpufreq in a VM."""
    if any(m.name == name and m.domain == "process_groups" for m in METRICS):
        return True  # only with process_groups (or top_processes) configured: tests/workload holds them
    if name.startswith("otel_mon.cgroup.") and name not in ("otel_mon.cgroup.count", "otel_mon.cgroup.dropped"):
        return True  # only where services or containers run (none on a bare test VM): tests/workload holds them
    if name == "hw.temperature":
        from otel_mon.host.sensors import read_temperatures

        return not read_temperatures(HostPaths("/"))
    if name in ("system.paging.usage", "system.paging.utilization"):
        return psutil.swap_memory().total == 0
    if name.startswith("otel_mon.host.conntrack."):
        return not os.path.exists("/proc/sys/net/netfilter/nf_conntrack_count")
    if name == "system.memory.linux.hugepages.utilization":  # a share of nothing without hugepages
        return "HugePages_Total:       0" in open("/proc/meminfo").read()
    if name == "otel_mon.host.pressure.stall_time":
        return not os.path.exists("/proc/pressure/cpu")
    if name == "otel_mon.host.oom_kills":
        return "oom_kill " not in open("/proc/vmstat").read()
    if name.startswith("otel_mon.systemd."):
        return True  # only with a systemd manager on D-Bus (tests/compat/test_systemd.py uses a stand-in)
    if name.startswith("otel_mon.textfile."):
        return True  # only with textfile.directory set (tests/compat/test_textfile.py)
    if name == "otel_mon.collector.errors":
        return True  # a series appears with the first error of its kind
    if name == "system.cpu.frequency":
        from otel_mon.host.sysfs import frequencies

        return not frequencies(HostPaths("/"))  # cpufreq only: /proc/cpuinfo's MHz is nominal in VMs
    return False


def test_every_default_host_metric_is_emitted_as_declared() -> None:
    every = {f"collectors.{d}": "true" for d in HOST_DOMAINS} | {f"metrics.{m.name}": "true" for m in METRICS}
    emitted = collect(every)
    for spec in METRICS:
        if spec.domain not in (*HOST_DOMAINS, "collector"):
            continue
        if spec.name not in emitted:
            assert conditional(spec.name), f"{spec.name} declared but not emitted"
            continue
        metric = emitted[spec.name]
        assert metric.unit == spec.unit, spec.name
        assert metric.description == BY_NAME[spec.name].description  # a name two domains share: the first row
        data = metric.data
        if spec.instrument == "gauge":
            assert isinstance(data, Gauge), spec.name
        else:
            assert isinstance(data, Sum), spec.name
            assert data.is_monotonic == (spec.instrument == "counter"), spec.name
        for point in data.data_points:
            keys = set(point.attributes or {})
            rows = [m for m in METRICS if m.name == spec.name]  # each domain's points keep their own row
            assert any(set(m.attributes) <= keys <= set(m.attributes) | set(m.optional_attributes) for m in rows), (
                spec.name, keys)
    assert set(emitted) <= set(BY_NAME)


def test_opt_in_attribute_and_metric_switches() -> None:
    emitted = collect({"cpu.per_logical": "true", "metrics.system.cpu.frequency": "false", "collectors.disk": "false"})
    cpus = {p.attributes["cpu.logical_number"] for p in emitted["system.cpu.time"].data.data_points}  # type: ignore[attr-defined]
    assert cpus == set(range(psutil.cpu_count()))
    assert "system.cpu.frequency" not in emitted
    assert not any(name.startswith("system.disk.") for name in emitted)
    assert "system.network.connection.count" not in emitted  # off by default


def test_docs_are_generated_from_the_table() -> None:
    assert DOC.read_text() == render(), "docs/metrics.md is stale: run `python -m otel_mon.docgen`"
    for spec in METRICS:
        assert f"`{spec.name}`" in DOC.read_text()
