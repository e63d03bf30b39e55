"""Every point a domain emits is held to its row of the metric table: name, domain, attribute keys and values.

A point that breaks its row is dropped and counted with ``error.type="contract"`` (that public value keeps
its name: the row is the domain's contract with dashboards); the module and class say what they do.

A misspelt metric name or attribute value (``cpu.mode=softirq``) would otherwise pass every test and reach
dashboards as a new series. The check runs once per distinct attribute set of a metric: attribute sets are
shared, immutable objects (``frozen_attrs``), so after the first collection a point costs one dict lookup.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from otel_mon.host.table import BY_NAME, ROWS
from otel_mon.metric_spec import MetricSpec


def problem(spec: MetricSpec | None, domain: str, name: str, attrs: Mapping[str, Any]) -> str | None:
    """Why a point breaks its row of the table, or None."""
    if spec is None:
        return f"metric {name!r} is not declared in the metric table"
    if spec.domain != domain:
        return f"metric {name!r} belongs to domain {spec.domain!r}, not {domain!r}"
    keys = set(attrs)
    missing = set(spec.attributes) - keys
    if missing:
        return f"metric {name!r} lacks attribute(s) {sorted(missing)}"
    extra = keys - set(spec.attributes) - set(spec.optional_attributes)
    if extra:
        return f"metric {name!r} has undeclared attribute(s) {sorted(extra)}"
    for key, values in spec.values:
        if key in attrs and attrs[key] not in values:
            return f"metric {name!r}: {key}={attrs[key]!r} is not one of {list(values)}"
    return None


class RowCheck:
    """Remembers the attribute sets already found valid, per metric."""

    def __init__(self, specs: Mapping[str, MetricSpec] = BY_NAME,
                 rows: Mapping[tuple[str, str], MetricSpec] = ROWS) -> None:
        self.specs = specs
        self.rows = rows  # (domain, name) -> that domain's row, for a name more than one domain emits
        # metric -> {id of a shared attribute mapping: the mapping (kept alive so its id is never reused)}
        self._shared: dict[str, dict[int, Mapping[str, Any]]] = {}
        self._plain: dict[str, set[tuple[tuple[str, Any], ...]]] = {}

    def _spec(self, domain: str, name: str) -> MetricSpec | None:
        return self.rows.get((domain, name)) or self.specs.get(name)

    def check(self, domain: str, name: str, attrs: Mapping[str, Any]) -> str | None:
        if type(attrs) is MappingProxyType:
            shared = self._shared.setdefault(name, {})
            if id(attrs) in shared:
                return None
            why = problem(self._spec(domain, name), domain, name, attrs)
            if why is None:
                shared[id(attrs)] = attrs
            return why
        plain = self._plain.setdefault(name, set())
        key = tuple(attrs.items())
        if key in plain:
            return None
        why = problem(self._spec(domain, name), domain, name, attrs)
        if why is None:
            plain.add(key)
        return why
