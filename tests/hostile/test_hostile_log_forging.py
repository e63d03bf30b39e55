"""Log forging through a process name (issue 23): a process whose comm holds a newline and an ESC sequence is
named in the memory warning's top-processes context, and neither the console log nor ``otel-mon tail`` writes
those bytes raw: they show as escapes, and no forged line appears."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from otel_mon.textsafe import printable
from tests.conftest import ROOT, AgentProcess, agent_env, wait_until

FORGED = b"a\nFORGED\x1b[31m!"  # 14 bytes: comm holds 15
HOLD = (f"import ctypes, time; ctypes.CDLL(None).prctl(15, {FORGED!r}, 0, 0, 0)\n"
        "block = b'x' * (800 << 20); print('ready', flush=True); time.sleep(600)")


@pytest.fixture
def forger() -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_printable_escapes_every_control_character() -> None:
    assert printable("a\nb\r\tc\x1b[2J\x00\x7f\x9b\u2028\u202e ok é") == \
        "a\\nb\\r\\tc\\x1b[2J\\x00\\x7f\\x9b\\u2028\\u202e ok é"


def test_a_forged_process_name_is_escaped_in_the_console_log_and_tail(
        forger: subprocess.Popen[str], start_agent: Callable[..., AgentProcess], tmp_path: Path) -> None:
    cfg = tmp_path / "agent.yaml"
    cfg.write_text("""
interval: 500ms
health:
  default_for: 0s
  rules:
    - {reading: memory, warning: 0.001, critical: 100000}
""")
    data = tmp_path / "spool"
    agent = start_agent("--config", str(cfg), "--data-dir", str(data), env=agent_env(PYTHONPATH=str(ROOT)))
    escaped = "a\\nFORGED\\x1b[31m!"
    wait_until(lambda: escaped in agent.stderr(), 30, what="the forged name, escaped, in the console log")
    console = agent.stderr()
    assert "\x1b" not in console and not any(line.startswith("FORGED") for line in console.splitlines())

    def tail() -> str:
        done = subprocess.run([sys.executable, "-m", "otel_mon", "tail", "--data-dir", str(data), "-n", "200"],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path,
                              env=agent_env(PYTHONPATH=str(ROOT)))
        assert done.returncode == 0, done.stderr
        return done.stdout

    shown = wait_until(lambda: "FORGED" in (out := tail()) and out, 30, what="the context in the logs spool")
    assert escaped in shown and "\x1b" not in shown
    assert not any(line.startswith("FORGED") for line in shown.splitlines())
