"""The status page's ring: bounded, ordered, gaps as null, and cheap per collection."""

from __future__ import annotations

import time
import tracemalloc

from otel_mon.host.sampler import Snapshot
from otel_mon.web.history import MAX_CAPACITY, History, capacity_for, extract


def snap(t: float, cpu: float, disk_read: float = 0.0, fs: dict[str, float] | None = None) -> Snapshot:
    return Snapshot(
        time=t, monotonic=t, sequence=int(t),
        points={"system.disk.io": [(disk_read, {"disk.io.direction": "read", "system.device": "sda"}),
                                   (5.0, {"disk.io.direction": "write", "system.device": "sda"})],
                "process.cpu.utilization": [(0.01, {"cpu.mode": "user"}), (0.005, {"cpu.mode": "system"})],
                "process.memory.usage": [(42e6, {})]},
        readings={"cpu": {"": cpu}, "memory": {"": 50.0}, "load": {"": 0.5},
                  "network.receive": {"lo": 1e6, "eth0": 100.0, "eth1": 20.0}, "network.transmit": {"eth0": 7.0},
                  "filesystem": fs if fs is not None else {"/": 40.0}, "temperature": {"coretemp/Core 0": 55.0}},
    )


def test_capacity_covers_an_hour_within_bounds() -> None:
    assert capacity_for(10) == 360 and capacity_for(60) == 60 and capacity_for(0.1) == MAX_CAPACITY
    assert capacity_for(7200) == 2


def test_extract_human_units_and_rates() -> None:
    first = snap(100.0, 10.0, disk_read=1000.0)
    values = extract(snap(110.0, 20.0, disk_read=3000.0), 4, (first.time, {"read": 1000.0, "write": 5.0}))
    assert values["cpu"] == 20.0 and values["memory"] == 50.0 and values["load"] == 0.5
    assert values["net.rx"] == 120.0 and values["net.tx"] == 7.0  # loopback is not network traffic
    assert values["disk.read"] == 200.0 and values["disk.write"] == 0.0
    assert abs(values["agent.cpu"] - 6.0) < 1e-9  # 1.5 % of four CPUs = 6 % of one, as top shows it
    assert values["agent.rss"] == 42e6 and values["fs:/"] == 40.0 and values["temp:coretemp/Core 0"] == 55.0
    assert "disk.read" not in extract(first, 4)  # a rate needs two collections


def test_ring_keeps_the_newest_in_order_with_gaps() -> None:
    h = History(10.0, capacity=4)
    for i in range(6):
        h.record(snap(1000.0 + 10 * i, float(i), fs={"/": 1.0} if i != 4 else {"/data": 2.0}))
    doc = h.to_json()
    assert doc["times"] == [1020.0, 1030.0, 1040.0, 1050.0]
    assert doc["series"]["cpu"] == [2.0, 3.0, 4.0, 5.0]
    assert doc["series"]["fs:/"] == [1.0, 1.0, None, 1.0]  # missing in one collection: a gap, not a zero
    assert doc["series"]["fs:/data"] == [None, None, 2.0, None]
    assert h.latest("cpu") == 5.0 and h.latest("fs:/data") is None and h.latest("nope") is None


def test_series_are_bounded() -> None:
    h = History(10.0, capacity=8, max_series=3)
    h.add(1.0, {f"s{i}": float(i) for i in range(10)})
    assert len(h.to_json()["series"]) == 3 and h.dropped_series == 7


def test_memory_and_cost_per_collection() -> None:
    """The README's figures: a full hour at a 1 s interval with 64 series, and the cost of one record()."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    h = History(1.0)  # 3600 points
    fs = {f"/mnt/{i}": float(i) for i in range(80)}  # more mounts than the series bound
    for i in range(MAX_CAPACITY):
        h.record(snap(float(i), 50.0, disk_read=float(i), fs=fs))
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert h.nbytes() <= 3600 * (8 + 4 * 64) and held < 2 * 1024 * 1024, held
    started = time.perf_counter()
    for i in range(1000):
        h.record(snap(4000.0 + i, 50.0, disk_read=float(i), fs=fs))
    per_record = (time.perf_counter() - started) / 1000
    assert per_record < 0.002, per_record  # tens of microseconds here; loose for a loaded 2-core machine


def test_long_rings_are_thinned_for_the_page() -> None:
    h = History(1.0, capacity=1000)
    for i in range(1000):
        h.add(float(i), {"cpu": float(i)})
    doc = h.to_json()
    assert len(doc["times"]) == 334 and doc["times"][-1] == 999.0 and doc["series"]["cpu"][-1] == 999.0
    assert doc["times"][:2] == [0.0, 3.0]
