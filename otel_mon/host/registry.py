"""The host domains' collectors, built from the host section: each domain registers itself in its module.

A domain module's ``build(host, paths)`` hands its collector only the options it needs (node_exporter's
one-line registration); ``host/table.py`` is the one list of domain modules.
"""

from __future__ import annotations

from collections.abc import Callable

from otel_mon.host.base import Collector
from otel_mon.host.config import HostConfig
from otel_mon.host.paths import HostPaths
from otel_mon.host.table import MODULES

# Each factory gets the host section and the paths, and hands its collector only the options it needs.
Factory = Callable[[HostConfig, HostPaths], Collector]

DOMAINS: dict[str, Factory] = {name: module.build for name, module in MODULES.items()}


def build(cfg: HostConfig, paths: HostPaths) -> list[Collector]:
    return [factory(cfg, paths) for name, factory in DOMAINS.items() if cfg.collector_enabled(name)]
