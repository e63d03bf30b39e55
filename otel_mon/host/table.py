"""The assembled metric table: each host domain's rows, in the domains' order, then the agent's own rows.

A host domain is one module, ``otel_mon/host/<domain>.py``, that declares one ``DOMAIN = Domain(...)``
(``host/domain.py``) at top level. This module finds them without a hand-kept list: the discovery rule is that
line, looked for in the source of each module of the package, so modules that are not domains (the sampler,
the config assembly, the parsers) are never imported from here (several import this module). A new domain is
its file alone. Everything that needs the whole table (instruments, the ``metrics:`` and ``collectors:``
checks, the sampler's contract, health rules, ``snapshot``, docgen) takes it from here. Domain modules import
only the spec types and their parsers at module level, so importing the table loads no SDK.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from otel_mon.agent_metrics import AGENT_METRICS
from otel_mon.host.domain import Domain
from otel_mon.metric_spec import MetricSpec, ReadingSpec
from otel_mon.schema import Problem, check, did_you_mean

# The discovery rule: a module of otel_mon.host whose source has this line at top level registers a domain.
DECLARES_DOMAIN = re.compile(r"^DOMAIN(?:\s*:\s*Domain)?\s*=\s*Domain\(", re.MULTILINE)
_HERE = Path(__file__).resolve().parent


def domain_modules(folder: Path = _HERE) -> list[str]:
    """The names of the modules in ``folder`` that declare a domain, by the rule above (none is imported)."""
    return [info.name for info in pkgutil.iter_modules([str(folder)])
            if not info.ispkg and DECLARES_DOMAIN.search((folder / f"{info.name}.py").read_text(encoding="utf-8"))]


def ordered(domains: Iterable[Domain]) -> tuple[Domain, ...]:
    """The domains by position; two with one key or one position are a programming error."""
    found = sorted(domains, key=lambda d: d.position)
    for attr in ("key", "position"):
        values = [getattr(d, attr) for d in found]
        twice = sorted({str(v) for v in values if values.count(v) > 1})
        if twice:
            raise TypeError(f"host domains share a {attr}: {', '.join(twice)}")
    return tuple(found)


def discover(package: str = "otel_mon.host", folder: Path = _HERE) -> tuple[Domain, ...]:
    """Import each domain module of ``package`` (this one) and take its ``DOMAIN``, in position order."""
    domains = []
    for name in domain_modules(folder):
        declared = getattr(importlib.import_module(f"{package}.{name}"), "DOMAIN", None)
        if not isinstance(declared, Domain):
            raise TypeError(f"{package}.{name}: DOMAIN is {type(declared).__name__}, not a Domain")
        domains.append(declared)
    return ordered(domains)


DOMAINS: tuple[Domain, ...] = discover()
BY_KEY: dict[str, Domain] = {d.key: d for d in DOMAINS}
HOST_DOMAINS: tuple[str, ...] = tuple(BY_KEY)
OFF_BY_DEFAULT = frozenset(d.key for d in DOMAINS if not d.on_by_default)
HOST_METRICS: tuple[MetricSpec, ...] = tuple(spec for d in DOMAINS for spec in d.metrics)
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
HOST_READINGS: tuple[ReadingSpec, ...] = tuple(spec for d in DOMAINS for spec in d.readings)


@dataclass(frozen=True)
class MetricsConfig:
    """``metrics: {name: true|false}`` (a top-level key): switch single metrics on or off."""

    metrics: dict[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check(self, [Problem(f"metrics.{name}", f"unknown metric{did_you_mean(name, BY_NAME)}", plain=True)
                     for name in self.metrics if name not in BY_NAME])
