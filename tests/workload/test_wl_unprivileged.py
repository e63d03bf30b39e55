"""The agent as an unprivileged user (setpriv to nobody) over processes root started: their CPU, memory and
counts are still right (stat and status are world-readable), their io and fd are unreadable, counted in
otel_mon.process.unreadable and logged once, never per pid."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, agent_env, free_port, stop_process, wait_until
from tests.workload.workers import BURN, cpu_ticks, running, spawn, tick


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory nobody may write (pytest's tmp_path is root's alone)."""
    d = Path(tempfile.mkdtemp(prefix="otelmon-nobody-"))
    d.chmod(0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def metric(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_as_nobody_other_users_files_are_counted_not_logged_per_pid(shared_dir: Path) -> None:
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root to start processes another user cannot read, and setpriv")
    cfg = shared_dir / "agent.yaml"
    cfg.write_text('interval: 500ms\nprocess_groups:\n  - {name: burn, comm: "^wl-nb-burn$"}\n'
                   '  - {name: mine, user: nobody}\n')
    cfg.chmod(0o644)
    port = free_port()
    stderr = open(shared_dir / "agent.stderr", "wb")
    with running(spawn(BURN, "wl-nb-burn"), spawn(BURN, "wl-nb-burn")) as burners:
        agent = subprocess.Popen(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m", "otel_mon",
             "run", "--listen", f"127.0.0.1:{port}", "--config", str(cfg), "--data-dir", str(shared_dir / "spool")],
            cwd=shared_dir, env=agent_env(PYTHONPATH=str(ROOT)), stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            def scrape() -> str:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                    return resp.read().decode()

            def passed() -> str | None:
                t = scrape()
                return t if metric(t, "otel_mon_process_unreadable", otel_mon_process_file="io") else None

            text = wait_until(passed, 60, what="the agent's first group pass")
            for _ in range(3):  # a few collections: the log line stays single
                before = sum(cpu_ticks(p.pid) for p in burners)
                text = scrape()
                after = sum(cpu_ticks(p.pid) for p in burners)
                user = metric(text, "process_cpu_time_seconds_total", cpu_mode="user", otel_mon_process_group="burn")
                system = metric(text, "process_cpu_time_seconds_total", cpu_mode="system",
                                otel_mon_process_group="burn")
                assert user is not None and system is not None
                # the scrape shows the last collection (up to one interval old): within 0.5 s of CPU x 2 burners
                assert before - 2 * 0.6 * tick() <= (user + system) * tick() <= after + 1, (before, after)
            assert metric(text, "otel_mon_process_group_count", otel_mon_process_group="burn") == 2
            assert (metric(text, "otel_mon_process_unreadable", otel_mon_process_file="io") or 0) >= 2
            assert (metric(text, "otel_mon_process_unreadable", otel_mon_process_file="fd") or 0) >= 2
            # its own process is readable to nobody: the agent itself is in the "mine" group with its fds
            assert (metric(text, "process_unix_file_descriptor_count", otel_mon_process_group="mine") or 0) > 3
        finally:
            stop_process(agent)
            stderr.close()
    logged = (shared_dir / "agent.stderr").read_text(errors="replace")
    assert agent.returncode == 0, logged
    assert logged.count("files are unreadable") == 1, logged
    pids = "|".join(str(p.pid) for p in burners)
    assert not re.search(rf"\b({pids})\b", logged)  # no pid in the log
