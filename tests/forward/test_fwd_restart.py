"""A forwarder process killed with SIGKILL during an outage loses nothing: its restart delivers the backlog."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fwdkit import ROOT, FakeSpool, metrics_line, poll, sequences
from otlp_receiver import OtlpReceiver

from otel_mon.forward.cursor import cursor_path
from otel_mon.spool.cursor_files import Cursor, load_cursor

CHILD = Path(__file__).with_name("forward_child.py")


class Child:
    """The child process and its stderr, watched line by line so the test can wait for a log message."""

    def __init__(self, data_dir: Path, config: dict[str, object]) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen([sys.executable, str(CHILD), str(data_dir), json.dumps(config)], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._cond = threading.Condition()
        self.lines: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "started"

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()

    def wait_log(self, text: str, after: int = 0, timeout: float = 10.0) -> int:
        with self._cond:
            found = self._cond.wait_for(lambda: any(text in line for line in self.lines[after:]), timeout)
            assert found, f"child never logged {text!r}: {self.lines}"
            return len(self.lines)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(5)

    def terminate(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)


@pytest.fixture
def children() -> Iterator[list[Child]]:
    started: list[Child] = []
    yield started
    for child in started:
        child.terminate()


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_sigkill_during_an_outage_then_restart(tmp_path: Path, children: list[Child], protocol: str) -> None:
    spool = FakeSpool(tmp_path, "metrics")
    with OtlpReceiver() as receiver:
        config = {"endpoint": receiver.endpoint(protocol), "protocol": protocol, "backoff_initial": "20ms",
                  "backoff_max": "100ms", "poll_interval": "50ms", "drain_rate": 0, "max_batch_records": 3}
        spool.write([metrics_line(i) for i in range(10)])
        first = Child(tmp_path, config)
        children.append(first)
        assert receiver.wait_for(lambda r: len(sequences(r)) == 10)
        # Acked and persisted before the outage: taking the receiver down mid-answer would mean a resend.
        poll(lambda: (load_cursor(cursor_path(spool.dir)) or Cursor("", 0)).line == 10)

        receiver.down()
        spool.write([metrics_line(i) for i in range(10, 20)])
        first.wait_log("failed, will retry")
        first.kill()

        spool.rotate()
        spool.write([metrics_line(i) for i in range(20, 30)])
        second = Child(tmp_path, config)
        children.append(second)
        second.wait_log("failed, will retry")
        receiver.up()
        assert receiver.wait_for(lambda r: len(sequences(r)) >= 30, timeout=15)
        second.terminate()
    assert sequences(receiver) == list(range(30))
