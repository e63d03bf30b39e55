"""The host domains' collectors, built from the host section: each domain registers itself in its module.

A domain's ``build(host, paths)`` (its ``DOMAIN``'s factory) hands its collector only the options it needs
(node_exporter's one-line registration); ``host/table.py`` finds the domains.
"""

from __future__ import annotations

from otel_mon.host.base import Collector
from otel_mon.host.config import HostConfig
from otel_mon.host.domain import Factory
from otel_mon.host.paths import HostPaths
from otel_mon.host.table import DOMAINS as _DOMAINS

__all__ = ["DOMAINS", "Factory", "build"]

DOMAINS: dict[str, Factory] = {d.key: d.build for d in _DOMAINS}


def build(cfg: HostConfig, paths: HostPaths) -> list[Collector]:
    return [factory(cfg, paths) for name, factory in DOMAINS.items() if cfg.collector_enabled(name)]
