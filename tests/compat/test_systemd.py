"""systemd unit states from a stand-in of systemd's D-Bus API on a real dbus-daemon (PID 1 here is not systemd,
and ``systemd --user`` does not start in this sandbox): states, restarts, the system state, globs, the
node_exporter names, and a D-Bus that never answers (collection goes on, the read times out)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from otel_mon.host.filters import Filter
from otel_mon.host.systemd import SystemdCollector, SystemdConfig
from otel_mon.schema import Duration
from tests.conftest import ROOT, AgentProcess, need_binary, stop_process, wait_until

STANDIN = Path(__file__).with_name("systemd_standin.py")
UNITS = {"system_state": "degraded", "units": [
    {"name": "nginx.service", "state": "active", "restarts": 2},
    {"name": "backup.service", "state": "failed", "restarts": 5},
    {"name": "cron.service", "state": "inactive"},
    {"name": "tmp.mount", "state": "active"},
]}


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[str]:
    daemon = need_binary("dbus-daemon")
    sock = tmp_path / "bus"
    proc = subprocess.Popen([daemon, "--session", "--nofork", "--nopidfile", f"--address=unix:path={sock}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(sock.exists, 20, what="dbus-daemon socket")
        yield f"unix:path={sock}"
    finally:
        stop_process(proc)


def standin(bus: str, tmp_path: Path, doc: dict[str, object], *flags: str) -> subprocess.Popen[str]:
    units = tmp_path / "units.json"
    units.write_text(json.dumps(doc))
    proc = subprocess.Popen([sys.executable, str(STANDIN), bus, str(units), *flags], stdout=subprocess.PIPE,
                            text=True, cwd=ROOT)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def _points(collector: SystemdCollector) -> dict[str, dict[tuple[tuple[str, object], ...], float]]:
    got = collector.collect(time.time())
    return {name: {tuple(sorted(a.items())): v for v, a in pts} for name, pts in got.points.items()}


def test_states_restarts_and_system_state_from_dbus(bus: str, tmp_path: Path) -> None:
    proc = standin(bus, tmp_path, UNITS)
    try:
        collector = SystemdCollector(SystemdConfig(address=bus))
        points = wait_until(lambda: (p := _points(collector)) and p, 20, what="a finished D-Bus read")
        state = points["otel_mon.systemd.unit.state"]
        assert state[(("otel_mon.systemd.unit", "backup.service"), ("otel_mon.systemd.unit.state", "failed"))] == 1
        assert state[(("otel_mon.systemd.unit", "backup.service"), ("otel_mon.systemd.unit.state", "active"))] == 0
        assert state[(("otel_mon.systemd.unit", "nginx.service"), ("otel_mon.systemd.unit.state", "active"))] == 1
        assert {dict(k)["otel_mon.systemd.unit"] for k in state} == {"nginx.service", "backup.service",
                                                                     "cron.service"}  # default glob: services
        assert points["otel_mon.systemd.unit.restarts"][(("otel_mon.systemd.unit", "backup.service"),)] == 5
        assert points["otel_mon.systemd.system.state"] == {(("otel_mon.systemd.system.state", "degraded"),): 1}
        got = collector.collect(time.time())
        assert got.readings["systemd.failed"] == {"backup.service": 1.0}
        assert got.errors == []
        mounts = SystemdCollector(SystemdConfig(address=bus, units=Filter(include=("*.mount",))))
        points = wait_until(lambda: (p := _points(mounts)) and p, 20)
        assert {dict(k)["otel_mon.systemd.unit"] for k in points["otel_mon.systemd.unit.state"]} == {"tmp.mount"}
    finally:
        stop_process(proc)


def test_a_dbus_that_never_answers_never_delays_collection(bus: str, tmp_path: Path) -> None:
    proc = standin(bus, tmp_path, UNITS, "--silent")
    try:
        collector = SystemdCollector(SystemdConfig(address=bus, timeout=Duration(0.5)))
        started = time.monotonic()
        first = collector.collect(time.time())
        assert time.monotonic() - started < 0.2  # the read runs on its own thread
        assert first.points == {}

        def timed_out() -> list[tuple[str, str]]:
            return collector.collect(time.time()).errors

        errors = wait_until(timed_out, 20, what="a timeout error")
        assert errors[0][0] == "timeout", errors
    finally:
        stop_process(proc)


def test_agent_serves_systemd_on_both_endpoints_and_warns_about_failed_units(
        bus: str, tmp_path: Path, start_agent: Callable[..., AgentProcess]) -> None:
    proc = standin(bus, tmp_path, UNITS)
    try:
        agent = start_agent("--interval", "1s", "--set", "collectors.systemd=true", "--set",
                            f"systemd.address={bus}", "--set", "compat.node_exporter=true",
                            "--set", "spool.enabled=false")
        compat = wait_until(lambda: (c := agent.get("/metrics/node_exporter")[1].decode())
                            and "node_systemd_unit_state" in c and c, 30, what="systemd on the compat endpoint")
        assert 'node_systemd_unit_state{name="backup.service",state="failed",type="service"} 1.0' in compat
        assert 'node_systemd_service_restart_total{name="backup.service"} 5.0' in compat
        assert "node_systemd_system_running 0.0" in compat
        metrics = agent.get("/metrics")[1].decode()
        assert "otel_mon_systemd_unit_state{" in metrics and "otel_mon_systemd_unit_restarts_total{" in metrics

        def warned() -> dict[str, object] | None:
            doc = json.loads(agent.get("/health")[1])
            text = json.dumps(doc.get("health", {}))
            return doc if "backup.service" in text and "warning" in text else None

        wait_until(warned, 60, what="a warning naming the failed unit")
    finally:
        stop_process(proc)
