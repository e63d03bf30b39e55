"""What a row of the metric table is (``MetricSpec``) and what a reading offered to health rules is
(``ReadingSpec``): the types every host domain and component declares its rows and readings with.

Bottom layer: it imports nothing of ours. ``otel_mon/host/table.py`` assembles the host domains' rows and
``agent_metrics.AGENT_METRICS`` into the one table that instruments, the ``metrics:`` check, the sampler's
contract and ``docs/metrics.md`` are built from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Instrument = Literal["counter", "updowncounter", "gauge", "histogram"]

@dataclass(frozen=True)
class MetricSpec:
    name: str
    instrument: Instrument
    unit: str
    attributes: tuple[str, ...]
    description: str
    domain: str
    default: bool = True
    optional_attributes: tuple[str, ...] = ()
    # Allowed values of the enumerated attribute keys, ((key, (value, ...)), ...); keys not listed are free-form
    # (device names, mountpoints). The sampler holds every emitted point to these, once per attribute set.
    values: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def allowed(self, key: str) -> tuple[str, ...] | None:
        """The allowed values of ``key``, or None when any value is fine."""
        for k, vals in self.values:
            if k == key:
                return vals
        return None



@dataclass(frozen=True)
class ReadingSpec:
    """A reading offered to health rules and /health: declared by the domain (or component) that computes it."""

    name: str
    unit: str
    instances: str  # what an instance is ("" for host-wide readings)
    description: str
    counter: bool = False  # cumulative since start: rules compare the increase since the previous reading
    probe: bool = False  # instances are probe names, checked against the probes section
    rules: bool = True  # False: shown on /health (and by status) only, not a reading health rules may use
    low_is_bad: bool = False  # low values are the trouble: rules are reached at or below their thresholds
    # What explains a rise, measured once per batch (health/context.py): the top processes by CPU or by memory,
    # or the figures of the instance's filesystem (size, free, inodes).
    context: Literal["", "cpu", "memory", "filesystem"] = ""
