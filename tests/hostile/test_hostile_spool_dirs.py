"""The spool's directories (issue 23): created private (0750) all the way up under umask 000, and a spool
subdirectory that is a symbolic link refused at start with exit 2 and one line, nothing written through it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, agent_env, free_port, stop_process, wait_until


def _run(data: Path, cwd: Path, *extra: str, umask: int = 0o022) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "otel_mon", "run", "--listen", f"127.0.0.1:{free_port()}",
                             "--interval", "200ms", "--data-dir", str(data), *extra],
                            cwd=cwd, env=agent_env(PYTHONPATH=str(ROOT)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, umask=umask)


def test_missing_parents_are_created_private_under_umask_000(tmp_path: Path) -> None:
    data = tmp_path / "a" / "b" / "spool"
    agent = _run(data, tmp_path, umask=0)
    try:
        wait_until(lambda: any((data / "metrics").glob("*.jsonl")), 30, what="a metrics segment")
    finally:
        stop_process(agent)
    for directory in (tmp_path / "a", tmp_path / "a" / "b", data, data / "metrics", data / "logs"):
        assert directory.stat().st_mode & 0o777 == 0o750, (directory, oct(directory.stat().st_mode))


def test_a_symlinked_spool_subdirectory_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "spool"
    elsewhere = tmp_path / "someone-elses"
    data.mkdir()
    elsewhere.mkdir()
    (data / "metrics").symlink_to(elsewhere)
    agent = _run(data, tmp_path)
    _out, err = agent.communicate(timeout=60)
    assert agent.returncode == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "spool.dir" in lines[0] and "symbolic link" in lines[0], err
    assert list(elsewhere.iterdir()) == []
    allowed = _run(data, tmp_path, "--set", "spool.allow_symlinks=true")
    try:
        wait_until(lambda: any(elsewhere.glob("*.jsonl")), 30, what="segments through the allowed link")
    finally:
        stop_process(allowed)
