"""The assembled metric table: each host domain's rows, in registration order, then the agent's own rows.

A host domain declares its rows in its own module (``otel_mon/host/<domain>.py``, ``METRICS``); this is the
one list of those modules. Everything that needs the whole table (instruments, the ``metrics:`` and
``collectors:`` checks, the sampler's contract, ``snapshot``, docgen) takes it from here. The domain modules
import only the spec type from ``semconv`` at module level, so importing the table loads no SDK.
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
    processes,
    selfproc,
    sensors,
    uptime,
)
from otel_mon.schema import Problem, check, did_you_mean
from otel_mon.semconv import AGENT_METRICS, MetricSpec

# Domain name -> its module, in the order docs/metrics.md and the collectors are listed.
_MODULES: dict[str, ModuleType] = {
    "cpu": cpu,
    "load": load,
    "memory": memory,
    "paging": paging,
    "disk": disk,
    "filesystem": filesystem,
    "network": network,
    "connections": connections,
    "processes": processes,
    "uptime": uptime,
    "sensors": sensors,
    "pressure": pressure,
    "filefd": filefd,
    "conntrack": conntrack,
    "clock": clock,
    "self": selfproc,
}

HOST_DOMAINS: tuple[str, ...] = tuple(_MODULES)
HOST_METRICS: tuple[MetricSpec, ...] = tuple(spec for module in _MODULES.values() for spec in module.METRICS)
METRICS: tuple[MetricSpec, ...] = (*HOST_METRICS, *AGENT_METRICS)
BY_NAME: dict[str, MetricSpec] = {m.name: m for m in METRICS}


@dataclass(frozen=True)
class MetricsConfig:
    """``metrics: {name: true|false}`` (a top-level key): switch single metrics on or off."""

    metrics: dict[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check(self, [Problem(f"metrics.{name}", f"unknown metric{did_you_mean(name, BY_NAME)}", plain=True)
                     for name in self.metrics if name not in BY_NAME])
