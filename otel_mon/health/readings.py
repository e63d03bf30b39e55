"""The readings the agent hands the health evaluator after each collection: names, units, instances.

``Readings`` maps a reading name to instance -> value. Instances are mountpoints, sensor ids or probe names;
readings of the whole host use the single instance ``""``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

Readings = Mapping[str, Mapping[str, float]]


@dataclass(frozen=True)
class ReadingSpec:
    name: str
    unit: str
    instances: str  # what an instance is ("" for host-wide readings)
    description: str
    counter: bool = False  # cumulative since start: rules compare the increase since the previous reading
    probe: bool = False  # instances are probe names, checked against the probes section


R = ReadingSpec
READINGS: dict[str, ReadingSpec] = {r.name: r for r in (
    R("cpu", "%", "", "CPU busy, percent of all logical CPUs"),
    R("memory", "%", "", "memory in use (MemTotal - MemAvailable), percent: 90 means 10 % available"),
    R("paging", "%", "", "swap in use, percent"),
    R("filesystem", "%", "mountpoint", "space in use, percent (as df shows it)"),
    R("inodes", "%", "mountpoint", "inodes in use, percent"),
    R("pressure", "%", "resource.kind (cpu.some, memory.full, ...)",
      "share of the last minute tasks were stalled on the resource (PSI avg60)"),
    R("file_descriptors", "%", "", "host-wide file handles in use, percent of fs.file-max"),
    R("conntrack", "%", "", "connection tracking table in use, percent (conntrack collector on)"),
    R("oom_kills", "", "", "processes killed by the OOM killer (rules see the increase per collection)",
      counter=True),
    R("clock.unsynchronized", "", "", "1 when the kernel clock is not synchronised, else 0"),
    R("clock.offset", "s", "", "absolute clock offset the kernel estimates"),
    R("load", "", "", "1-minute load average per logical CPU"),
    R("temperature", "°C", "sensor id", "temperature of each sensor"),
    R("probe.latency", "ms", "probe name", "duration of the last successful probe run", probe=True),
    R("probe.failure", "", "probe name", "1 when the last probe run failed, 0 when it succeeded", probe=True),
    R("spool.dropped", "", "", "spool batches dropped since start (rules see the increase per collection)",
      counter=True),
    R("forward.lag", "s", "", "age of the oldest spool line not yet forwarded"),
)}
del R
