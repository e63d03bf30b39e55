"""The readings the agent hands the health evaluator after each collection: names, units, instances.

``Readings`` maps a reading name to instance -> value. Instances are mountpoints, sensor ids or probe names;
readings of the whole host use the single instance ``""``.
"""

from __future__ import annotations

from collections.abc import Mapping

from otel_mon.host.table import HOST_READINGS
from otel_mon.metric_spec import ReadingSpec

Readings = Mapping[str, Mapping[str, float]]
__all__ = ["READINGS", "ReadingSpec", "Readings"]


# The readings rules may use: the host domains' come from their modules (host/table.py), the agent's own are
# declared here.
R = ReadingSpec
READINGS: dict[str, ReadingSpec] = {r.name: r for r in (
    *(r for r in HOST_READINGS if r.rules),
    R("probe.latency", "ms", "probe name", "duration of the last successful probe run", probe=True),
    R("probe.failure", "", "probe name", "1 when the last probe run failed, 0 when it succeeded", probe=True),
    R("spool.dropped", "", "", "spool batches dropped since start (rules see the increase per collection)",
      counter=True),
    R("forward.lag", "s", "", "age of the oldest spool line not yet forwarded"),
)}
del R
