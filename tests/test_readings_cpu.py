"""CPU % has one definition (otel_mon/readings.py) whether it is read from the utilisation gauge or from the
``system.cpu.time`` counters (``report`` over a spool without the gauge, the dashboard's rate())."""

from __future__ import annotations

import time

import pytest

from otel_mon import readings
from otel_mon.host.cpu import CpuCollector
from otel_mon.host.paths import HostPaths
from otel_mon.host.sampler import HostSampler


def _times(idle: float, iowait: float, user: float) -> readings.Points:
    return {"system.cpu.time": [(idle, {"cpu.mode": "idle"}), (iowait, {"cpu.mode": "iowait"}),
                                (user, {"cpu.mode": "user"})]}


def test_cpu_percent_between_two_collections_of_the_counters() -> None:
    # 10 s of CPU time elapsed: 6 idle + 1 iowait, 3 busy
    assert readings.cpu_percent_between(_times(100, 10, 50), _times(106, 11, 53)) == pytest.approx(30.0)
    assert readings.cpu_percent_between(_times(100, 10, 50), _times(100, 10, 50)) is None  # nothing elapsed
    assert readings.cpu_percent_between(_times(100, 10, 50), _times(1, 0, 1)) is None  # a reboot


def test_the_counter_and_the_gauge_give_the_domains_reading() -> None:
    """On this host: the cpu domain's reading (from its utilisation gauge) is the counters' figure too."""
    sampler = HostSampler([CpuCollector(HostPaths("/"))])
    second = sampler.refresh()
    deadline = time.monotonic() + 5
    while True:  # until some CPU time has elapsed on the host's counters between two collections
        first, second = second, sampler.refresh()
        if "cpu" in second.readings or time.monotonic() > deadline:
            break
    # abs in percent points: the two summation orders differ by float noise (1.8e-8 seen once)
    assert second.readings["cpu"][""] == pytest.approx(
        readings.cpu_percent_between(first.points, second.points), abs=1e-6)
