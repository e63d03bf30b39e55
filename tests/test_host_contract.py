"""The sampler holds every emitted point to the metric table: a misspelt name or value never reaches a reader."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from otel_mon.host.base import Collected, frozen_attrs
from otel_mon.host.row_check import RowCheck, problem
from otel_mon.host.sampler import HostSampler
from otel_mon.host.table import BY_NAME, HOST_DOMAINS, HOST_READINGS, METRICS
from otel_mon.metric_spec import MetricSpec


class Emits:
    """A domain that emits whatever it is told to."""

    def __init__(self, name: str, points: list[tuple[str, Mapping[str, str | int]]]) -> None:
        self.name = name
        self.emitted = points

    def collect(self, now: float) -> Collected:
        out = Collected()
        for metric, attrs in self.emitted:
            out.add(metric, 1.0, attrs)
        return out


@pytest.mark.parametrize(("metric", "attrs", "why"), [
    ("system.cpu.tme", {"cpu.mode": "user"}, "not declared"),
    ("system.cpu.time", {"cpu.mode": "softirq"}, "cpu.mode='softirq' is not one of"),
    ("system.cpu.time", {"cpu.mdoe": "user"}, "lacks attribute"),
    ("system.cpu.time", {"cpu.mode": "user", "cpu": 0}, "undeclared attribute"),
    ("system.memory.usage", {"system.memory.state": "used"}, "belongs to domain 'memory'"),
])
def test_a_point_breaking_the_table_is_dropped_counted_and_logged_once(
    metric: str, attrs: dict[str, str | int], why: str, caplog: pytest.LogCaptureFixture
) -> None:
    good = ("system.cpu.time", frozen_attrs(("cpu.mode", "user")))
    sampler = HostSampler([Emits("cpu", [good, (metric, frozen_attrs(*attrs.items()))])])
    with caplog.at_level(logging.ERROR):
        snap = sampler.refresh()
        sampler.refresh()
    assert snap.points["system.cpu.time"] == [(1.0, good[1])]  # the good point survives
    assert metric not in snap.points or all(a == good[1] for _, a in snap.points[metric])
    assert not snap.domains["cpu"].ok
    assert sampler.snapshot is not None and sampler.snapshot.domains["cpu"].errors_total["contract"] == 2
    logged = [r for r in caplog.records if "breaks the metric table" in r.getMessage()]
    assert len(logged) == 1 and why in logged[0].__dict__["problem"]


def test_valid_points_are_checked_once_per_attribute_set(monkeypatch: pytest.MonkeyPatch) -> None:
    import otel_mon.host.row_check as module

    calls: list[str] = []

    def counting(spec: object, domain: str, name: str, attrs: Mapping[str, object]) -> str | None:
        calls.append(name)
        return problem(spec, domain, name, attrs)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "problem", counting)
    contract = RowCheck()
    attrs = frozen_attrs(("cpu.mode", "idle"))
    for _ in range(3):
        assert contract.check("cpu", "system.cpu.time", attrs) is None
        assert contract.check("cpu", "system.cpu.frequency", {"cpu.logical_number": 0}) is None
    assert calls == ["system.cpu.time", "system.cpu.frequency"]


def test_every_host_domain_of_the_real_host_keeps_the_table() -> None:
    from otel_mon import config
    from otel_mon.host import registry
    from otel_mon.host.paths import HostPaths

    settings = config.load(env={}, flags={"collectors.connections": "true", "collectors.conntrack": "true"})
    sampler = HostSampler(registry.build(settings.host, HostPaths("/")))
    sampler.refresh()
    snap = sampler.refresh()
    sampler.close()
    assert all("contract" not in s.errors_total for s in snap.domains.values()), snap.domains
    assert set(snap.points) <= set(BY_NAME)
    # every reading a domain offers is declared in its module (host/table.py gathers them for health rules)
    assert set(snap.readings) <= {r.name for r in HOST_READINGS}, set(snap.readings)


def test_every_host_domain_of_the_table_has_one_registered_collector() -> None:
    from otel_mon.host import registry
    from otel_mon.host.table import HOST_DOMAINS

    assert list(registry.DOMAINS) == list(HOST_DOMAINS)


def test_each_domain_declares_only_its_own_rows() -> None:
    """A domain's rows live in its registration (host/<domain>.py): a row filed under another domain is a slip."""
    from otel_mon.host import table

    for domain in table.DOMAINS:
        assert domain.metrics, domain.key
        assert {spec.domain for spec in domain.metrics} == {domain.key}, domain.key
    assert len(table.ROWS) == len(table.METRICS), "a metric name is declared twice in one domain"
    for spec in table.METRICS:  # a name two domains share is one instrument: same kind, same unit
        first = table.BY_NAME[spec.name]
        assert (spec.instrument, spec.unit) == (first.instrument, first.unit), spec.name


def _valid(spec: MetricSpec) -> dict[str, str | int]:
    """An attribute set the row accepts: each enumerated key's first value, a placeholder for free-form keys."""
    return {key: (spec.allowed(key) or ("x",))[0] for key in spec.attributes}


def _misspelt(name: str) -> str:
    wrong = name[:-1] if name[-1] != name[-2] else name + "s"
    assert wrong not in BY_NAME, wrong
    return wrong


HOST_ROWS = [spec for spec in METRICS if spec.domain in HOST_DOMAINS]


@pytest.mark.parametrize("spec", HOST_ROWS, ids=lambda spec: spec.name)
def test_every_host_row_accepts_each_allowed_value_and_refuses_a_misspelt_name_or_value(spec: MetricSpec) -> None:
    contract = RowCheck()
    good = _valid(spec)
    assert contract.check(spec.domain, spec.name, good) is None
    for key, values in spec.values:
        for value in values:
            assert contract.check(spec.domain, spec.name, {**good, key: value}) is None, (key, value)
        why = contract.check(spec.domain, spec.name, {**good, key: values[0].upper()})
        assert why is not None and "is not one of" in why
    why = contract.check(spec.domain, _misspelt(spec.name), good)
    assert why is not None and "not declared" in why


@pytest.mark.parametrize("domain", HOST_DOMAINS)
def test_the_sampler_drops_a_misspelt_point_of_every_domain(domain: str) -> None:
    """Through the sampler, per domain: a wrong value where the domain has enumerated values, else a wrong name."""
    spec = next((s for s in HOST_ROWS if s.domain == domain and s.values),
                next(s for s in HOST_ROWS if s.domain == domain))
    good = frozen_attrs(*_valid(spec).items())
    if spec.values:
        key, values = spec.values[0]
        bad: tuple[str, Mapping[str, str | int]] = (spec.name, frozen_attrs(*{**good, key: values[0] + "x"}.items()))
    else:
        bad = (_misspelt(spec.name), good)
    sampler = HostSampler([Emits(domain, [(spec.name, good), bad])])
    snap = sampler.refresh()
    assert snap.points[spec.name] == [(1.0, good)], snap.points
    assert bad[0] == spec.name or bad[0] not in snap.points
    assert not snap.domains[domain].ok and snap.domains[domain].errors_total["contract"] == 1


def test_every_domain_of_the_fixture_host_keeps_the_table(fake_root: Callable[[str], Path]) -> None:
    """host1 with every domain on: each domain emits and none breaks its rows (the new metrics included)."""
    from otel_mon import config
    from otel_mon.host import registry
    from otel_mon.host.paths import HostPaths

    root = fake_root("host1")
    # systemd answers over D-Bus, not from files: tests/compat/test_systemd.py holds it to its rows
    domains = [d for d in HOST_DOMAINS if d != "systemd"]
    settings = config.load(env={}, flags={"root_path": str(root), **{f"collectors.{d}": "true" for d in domains},
                                          "textfile.directory": str(root / "textfile")})
    sampler = HostSampler(registry.build(settings.host, HostPaths(str(root))))
    sampler.refresh()
    snap = sampler.refresh()
    sampler.close()
    assert {d: s.errors_total for d, s in snap.domains.items() if not s.ok} == {}
    emitted = {BY_NAME[name].domain for name in snap.points}
    assert emitted == set(domains)
