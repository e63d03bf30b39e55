"""An idle gRPC forwarder closes its channel, so grpc's poller threads end (an open channel woke them ~1,300
times a minute), and the next send opens it again. The sender runs in a child process: the receiver's own
grpc threads must not be counted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from otlp_receiver import OtlpReceiver

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import os, sys, time
from otel_mon import schema
from otel_mon.forward.config import OtlpConfig, resolve
from otel_mon.forward.grpc_sender import GrpcSender

def tasks():
    return len(os.listdir("/proc/self/task"))

def settle(most):
    deadline = time.monotonic() + 60
    while tasks() > most and time.monotonic() < deadline:
        time.sleep(0.05)
    return tasks()

alone = tasks()
target = resolve(schema.build(OtlpConfig, {"endpoint": sys.argv[1], "protocol": "grpc"}), "metrics")
sender = GrpcSender(target)
for round in range(2):
    result = sender.send(b"", 10)
    busy = tasks()
    sender.idle()
    print(round, result.outcome.name, alone, busy, settle(alone), flush=True)
"""


def test_an_idle_grpc_sender_lets_grpcs_threads_end_and_sends_again(receiver: OtlpReceiver) -> None:
    out = subprocess.run([sys.executable, "-c", CHILD, receiver.grpc_endpoint], cwd=ROOT, capture_output=True,
                         text=True, timeout=180, check=True).stdout.split("\n")
    for round_line in out[:2]:
        _round, outcome, alone, busy, after = round_line.split()
        assert outcome == "OK"
        assert int(busy) > int(alone)  # grpc started its threads for the call
        assert int(after) == int(alone), out  # and they ended once the channel was closed
    assert len(receiver.requests("metrics")) == 2
