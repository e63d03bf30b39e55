"""The host domains' collectors, built from the host section: each domain registers itself in its module.

A domain's ``build(host, paths)`` (its ``DOMAIN``'s factory) hands its collector only the options it needs
(node_exporter's one-line registration); ``host/table.py`` finds the domains. A collector with a
``select(names)`` method is told which of its domain's metrics are on (``metrics:``), so it can leave unread
the files that feed only disabled ones (cgroups: a dozen files per cgroup).
"""

from __future__ import annotations

from collections.abc import Callable

from otel_mon.host.base import Collector
from otel_mon.host.config import HostConfig
from otel_mon.host.domain import Factory
from otel_mon.host.paths import HostPaths
from otel_mon.host.table import DOMAINS as _DOMAINS
from otel_mon.metric_spec import MetricSpec

__all__ = ["DOMAINS", "Factory", "build"]

DOMAINS: dict[str, Factory] = {d.key: d.build for d in _DOMAINS}
_ROWS: dict[str, tuple[MetricSpec, ...]] = {d.key: d.metrics for d in _DOMAINS}


def build(cfg: HostConfig, paths: HostPaths,
          enabled: Callable[[MetricSpec], bool] | None = None) -> list[Collector]:
    """The enabled domains' collectors; ``enabled`` (Settings.metric_enabled): which metrics are on."""
    out = []
    for name, factory in DOMAINS.items():
        if not cfg.collector_enabled(name):
            continue
        collector = factory(cfg, paths)
        select = getattr(collector, "select", None)
        if enabled is not None and select is not None:
            select([m.name for m in _ROWS.get(name, ()) if enabled(m)])
        out.append(collector)
    return out
