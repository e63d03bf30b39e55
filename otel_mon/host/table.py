"""The assembled metric table: each host domain's rows, in registration order, then the agent's own rows.

A host domain declares its rows (``METRICS``) and the readings it offers (``READINGS``) in its own module
(``otel_mon/host/<domain>.py``); this is the one list of those modules. Everything that needs the whole table
(instruments, the ``metrics:`` and ``collectors:`` checks, the sampler's contract, health rules, ``snapshot``,
docgen) takes it from here. The domain modules import only the spec types from ``semconv`` at module level, so
importing the table loads no SDK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType

from otel_mon.host import (
    clock,
    connections,
    conntrack,
    cpu,
    disk,
    filefd,
    filesystem,
    load,
    memory,
    network,
    paging,
    pressure,
    process_groups,
    processes,
    selfproc,
    sensors,
    uptime,
)
from otel_mon.schema import Problem, check, did_you_mean
from otel_mon.semconv import AGENT_METRICS, MetricSpec, ReadingSpec

# Domain name -> its module (its METRICS, READINGS and build()), in the order docs/metrics.md and the
# collectors are listed. A domain off by default says so in its module (ON_BY_DEFAULT = False).
MODULES: dict[str, ModuleType] = {
    "cpu": cpu,
    "load": load,
    "memory": memory,
    "paging": paging,
    "disk": disk,
    "filesystem": filesystem,
    "network": network,
    "connections": connections,
    "process_groups": process_groups,  # before processes: that domain reuses this one's pass over /proc
    "processes": processes,
    "uptime": uptime,
    "sensors": sensors,
    "pressure": pressure,
    "filefd": filefd,
    "conntrack": conntrack,
    "clock": clock,
    "self": selfproc,
}

HOST_DOMAINS: tuple[str, ...] = tuple(MODULES)
OFF_BY_DEFAULT = frozenset(name for name, module in MODULES.items() if not getattr(module, "ON_BY_DEFAULT", True))
HOST_METRICS: tuple[MetricSpec, ...] = tuple(spec for module in MODULES.values() for spec in module.METRICS)
METRICS: tuple[MetricSpec, ...] = (*HOST_METRICS, *AGENT_METRICS)
# One instrument per name: a name two domains share (the agent's own process.* and the process groups') takes
# the first row, and the rows agree on instrument and unit (tests/test_host_contract.py); the contract holds
# each domain's points to that domain's own row (ROWS).
BY_NAME: dict[str, MetricSpec] = {}
for _m in METRICS:
    BY_NAME.setdefault(_m.name, _m)
ROWS: dict[tuple[str, str], MetricSpec] = {(m.domain, m.name): m for m in METRICS}
del _m
# The readings the host domains offer to health rules and /health (a domain without any declares none).
HOST_READINGS: tuple[ReadingSpec, ...] = tuple(
    spec for module in MODULES.values() for spec in getattr(module, "READINGS", ()))


@dataclass(frozen=True)
class MetricsConfig:
    """``metrics: {name: true|false}`` (a top-level key): switch single metrics on or off."""

    metrics: dict[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check(self, [Problem(f"metrics.{name}", f"unknown metric{did_you_mean(name, BY_NAME)}", plain=True)
                     for name in self.metrics if name not in BY_NAME])
