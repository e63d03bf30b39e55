"""A host domain's one registration: ``DOMAIN = Domain(...)`` at the bottom of ``host/<domain>.py``.

Everything the rest of the agent knows about a domain is in this object, typed as a whole: its key (the
``collectors:`` name and the ``domain`` of its rows), its rows of the metric table, the readings it offers to
health rules and /health, its config section, the factory of its collector, whether it runs by default, and
its position in the table. ``host/table.py`` finds the modules that declare one (see there for the rule); no
list of domains is kept by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from otel_mon.host.base import Collector
from otel_mon.host.section import Section
from otel_mon.metric_spec import MetricSpec, ReadingSpec

if TYPE_CHECKING:  # the factory's types only: host/config.py assembles itself from the domains
    from otel_mon.host.config import HostConfig
    from otel_mon.host.paths import HostPaths

# Each factory gets the host section and the paths, and hands its collector only the options it needs.
Factory = Callable[["HostConfig", "HostPaths"], Collector]


@dataclass(frozen=True)
class Domain:
    """One host domain. ``position`` orders docs/metrics.md, ``collectors:`` and /health (ascending, unique)."""

    key: str
    position: int
    metrics: tuple[MetricSpec, ...]
    build: Factory
    readings: tuple[ReadingSpec, ...] = ()
    section: Section[Any] | None = None  # its options under a top-level key (host/section.py)
    on_by_default: bool = True  # False: runs only with ``collectors.<key>: true`` (a costly read)

    def __post_init__(self) -> None:
        # A programming error, found when the table is assembled (at import), never at run time.
        if not self.metrics:
            raise TypeError(f"host domain {self.key!r} declares no metrics")
        strays = sorted(m.name for m in self.metrics if m.domain != self.key)
        if strays:
            raise TypeError(f"host domain {self.key!r} declares rows of another domain: {', '.join(strays)}")
