"""Fixtures shared by the whole suite: fake host trees, free ports, polling with deadlines, real servers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import pytest

from tests.polling import wait_until as wait_until  # re-exported: the suite knows it from here

if TYPE_CHECKING:
    from tests.webhooks import Hooks

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parent.parent


def stop_process(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM, then SIGKILL if the process is still there 15 s later; reaped either way."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def need_binary(name: str) -> str:
    """The path of a Debian-packaged server; a missing one skips, or fails when integration is required."""
    path = shutil.which(name) or (f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else None)
    if path:
        return path
    msg = f"{name} is not installed (apt-get install {name}; `make test` does it as root)"
    if os.environ.get("OTEL_MON_REQUIRE_INTEGRATION") == "1":
        pytest.fail(msg)
    pytest.skip(msg)


STACK_BIN = ROOT / "build" / "stack" / "bin"


def stack_binary(name: str) -> str:
    """A peer `make stack-bin` built from its pinned Go module (deploy/stack/pins.txt) into build/stack/bin/.

    ``make test`` builds them first, so a missing one is a broken checkout: it fails when integration is
    required and skips (with the command that fixes it) otherwise.
    """
    path = STACK_BIN / name
    if path.is_file() and os.access(path, os.X_OK):
        return str(path)
    msg = f"{path} is missing: run `make stack-bin` (builds the peers pinned in deploy/stack/pins.txt)"
    if os.environ.get("OTEL_MON_REQUIRE_INTEGRATION") == "1":
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture
def fake_root() -> Iterator[Callable[[str], Path]]:
    """Point psutil at a fixture tree (``tests/fixtures/<name>``) and put the real /proc back afterwards."""
    saved = psutil.PROCFS_PATH

    def use(name: str) -> Path:
        from otel_mon.host.paths import HostPaths

        root = FIXTURES / name
        HostPaths(str(root)).activate()
        return root

    yield use
    psutil.PROCFS_PATH = saved


def agent_env(**extra: str) -> dict[str, str]:
    """The environment for an agent child process: no stray OTEL_* settings from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(extra)
    return env


class AgentProcess:
    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.cwd = cwd
        cmd = [sys.executable, "-m", "otel_mon", "run", "--listen", f"127.0.0.1:{self.port}", *args]
        self.stderr_path = cwd / "agent.stderr"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=self._stderr)

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        req = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def wait_ready(self, timeout: float = 30.0) -> None:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"agent exited with {self.proc.returncode}: {self.stderr()}")
            return self.get("/ready")[0] == 200

        wait_until(ready, timeout, what="agent /ready")

    def stderr(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def stop(self) -> int:
        stop_process(self.proc)
        self._stderr.close()
        return self.proc.returncode


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    """A local webhook endpoint (tests/webhooks.py) for the agent's notifiers, shut down after the test."""
    from tests.webhooks import Hooks

    h = Hooks()
    yield h
    h.server.shutdown()


@pytest.fixture
def start_agent(tmp_path: Path) -> Iterator[Callable[..., AgentProcess]]:
    started: list[AgentProcess] = []

    def start(*args: str, env: dict[str, str] | None = None, ready: bool = True) -> AgentProcess:
        agent = AgentProcess(list(args), env or agent_env(PYTHONPATH=str(ROOT)), tmp_path)
        started.append(agent)
        if ready:
            agent.wait_ready()
        return agent

    yield start
    for agent in started:
        agent.stop()


# The checkout's ./data is the default spool of `make run` (locked while it runs): no test may write there.
_CHECKOUT_DATA = ROOT / "data"
_data_existed = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite tests/fixtures' golden snapshot from this run (review the diff)")


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_data_existed] = _CHECKOUT_DATA.exists()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not session.config.stash.get(_data_existed, True) and _CHECKOUT_DATA.exists():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nFAILED: a test wrote into the checkout's {_CHECKOUT_DATA} (give it a tmp_path)", file=sys.stderr)
