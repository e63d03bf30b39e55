"""Pressure stall information (/proc/pressure/{cpu,memory,io}, Linux 4.20+), under the root path.

Cumulative stall time per resource and kind: its rate() is the share of time tasks were stalled (some: at
least one task, full: all non-idle tasks). semconv v1.44 has no PSI metric, hence the ``otel_mon.`` name.
Kernels without PSI (or booted with psi=0) have no files: the domain then reports nothing, not an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from otel_mon.host.base import Collected, frozen_attrs, read_text
from otel_mon.host.domain import Domain
from otel_mon.host.paths import HostPaths
from otel_mon.host.procfs import parse_pressure
from otel_mon.metric_spec import MetricSpec, ReadingSpec

if TYPE_CHECKING:  # build()'s types only: host/config.py imports this module
    from otel_mon.host.config import HostConfig

# This domain's rows of the metric table (host/table.py assembles them; docs/metrics.md is generated).
M = MetricSpec
METRICS: tuple[MetricSpec, ...] = (
    M("otel_mon.host.pressure.stall_time", "counter", "s",
      ("otel_mon.pressure.resource", "otel_mon.pressure.stall_type"),
      "Time tasks were stalled on each resource (/proc/pressure, total): some = at least one task, full = all "
      "non-idle tasks; rate() is the stalled share. Absent without PSI.", "pressure",
      values=(("otel_mon.pressure.resource", ("cpu", "memory", "io")),
              ("otel_mon.pressure.stall_type", ("some", "full")))),
)
del M

# The readings this domain offers to health rules and /health (computed in collect below).
READINGS: tuple[ReadingSpec, ...] = (
    ReadingSpec("pressure", "%", "resource.kind (cpu.some, memory.full, ...)",
                "share of the last minute tasks were stalled on the resource (PSI avg60)"),
)

RESOURCES = ("cpu", "memory", "io")


class PressureCollector:
    name = "pressure"

    def __init__(self, paths: HostPaths) -> None:
        self.paths = paths

    def collect(self, now: float) -> Collected:
        out = Collected()
        for resource in RESOURCES:
            try:
                text = read_text(self.paths.proc("pressure", resource))
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as exc:  # EOPNOTSUPP when the kernel was booted with psi=0
                out.errors.append((type(exc).__name__, f"/proc/pressure/{resource}: {exc.strerror}"))
                continue
            for kind, (avg60, total_us) in sorted(parse_pressure(text).items()):
                if resource == "cpu" and kind == "full":
                    continue  # undefined at the system level (always 0 since Linux 5.13)
                attrs = frozen_attrs(("otel_mon.pressure.resource", resource), ("otel_mon.pressure.stall_type", kind))
                out.add("otel_mon.host.pressure.stall_time", total_us / 1e6, attrs)
                out.reading("pressure", f"{resource}.{kind}", avg60)
        return out


def build(host: HostConfig, paths: HostPaths) -> PressureCollector:
    """This domain's collector, given only its options."""
    return PressureCollector(paths)


# The registration: everything the agent knows of this domain (host/table.py finds it).
DOMAIN = Domain("pressure", position=120, metrics=METRICS, readings=READINGS, build=build)
