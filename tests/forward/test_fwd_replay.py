"""``otel-mon replay`` as a user runs it: a real process, real files, a real receiver."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fwdkit import ROOT, SEQ_METRIC, logs_line, metrics_line, sequences
from otlp_receiver import OtlpReceiver


def _replay(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    from otel_mon import cli

    command = ["-m", "otel_mon", "replay"] if "replay" in cli.COMMANDS else ["-m", "otel_mon.commands.replay"]
    full_env = {**{k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}, "PYTHONPATH": str(ROOT),
                **(env or {})}
    return subprocess.run([sys.executable, *command, *args], capture_output=True, text=True, env=full_env,
                          timeout=60)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    plain = tmp_path / "metrics-20261125T031643123456Z.jsonl"
    plain.write_text("".join(f"{metrics_line(i)}\n" for i in range(5)))
    mixed = tmp_path / "mixed.jsonl.gz"
    lines = [metrics_line(5), metrics_line(6), logs_line(1), logs_line(2), metrics_line(7)]
    mixed.write_bytes(gzip.compress("".join(f"{line}\n" for line in lines).encode()))
    return plain, mixed


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_replays_plain_and_gz_files_of_both_signals(files: tuple[Path, Path], protocol: str) -> None:
    with OtlpReceiver(required_headers={"x-token": "t0ken"}) as receiver:
        done = _replay(*map(str, files), "--endpoint", receiver.endpoint(protocol), "--protocol", protocol,
                       "--header", "x-token=t0ken", "--rate", "1000")
        assert done.returncode == 0, done.stderr
        assert sequences(receiver) == list(range(8))
        assert sequences(receiver, "logs") == [1, 2]
    assert "sent 10 (metrics 8, logs 2), failed 0" in done.stdout
    assert "t0ken" not in done.stdout + done.stderr


def test_headers_and_endpoint_from_the_environment(files: tuple[Path, Path]) -> None:
    with OtlpReceiver(required_headers={"authorization": "Bearer e"}) as receiver:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.http_endpoint,
               "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20e"}
        done = _replay(str(files[0]), env=env)
        assert done.returncode == 0, done.stderr
        assert sequences(receiver) == list(range(5))


def test_a_rejected_line_exits_1_and_the_rest_arrives(files: tuple[Path, Path]) -> None:
    def has_six(request: object) -> bool:
        return any(m.name == SEQ_METRIC and m.gauge.data_points[0].as_int == 6
                   for rm in getattr(request, "resource_metrics", ()) for sm in rm.scope_metrics for m in sm.metrics)

    with OtlpReceiver() as receiver:
        receiver.reject_when(has_six, "six is bad")
        done = _replay(*map(str, files), "--endpoint", receiver.http_endpoint)
        assert done.returncode == 1
        assert sequences(receiver) == [0, 1, 2, 3, 4, 5, 7]
    assert "rejected: HTTP 400 Bad Request: six is bad" in done.stderr
    assert "failed 1 (rejected 1, malformed 0, unsent 0)" in done.stdout


def test_an_unreachable_endpoint_exits_1(files: tuple[Path, Path]) -> None:
    receiver = OtlpReceiver().start()
    endpoint = receiver.grpc_endpoint
    receiver.stop()
    done = _replay(str(files[0]), "--endpoint", endpoint, "--protocol", "grpc", "--timeout", "1s",
                   "--attempts", "2")
    assert done.returncode == 1
    assert "unsent 5" in done.stdout and "UNAVAILABLE" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--endpoint", "ftp://x"], "--endpoint"),
        ([], "--endpoint: required"),
        (["--endpoint", "http://x", "--header", "novalue"], "--header"),
        (["--endpoint", "http://x", "--rate", "-1"], "--rate"),
        (["--endpoint", "http://x", "--timeout", "soon"], "--timeout: invalid value 'soon'"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(files: tuple[Path, Path], args: list[str], message: str) -> None:
    done = _replay(str(files[0]), *args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("otel-mon replay: error:") and message in lines[0]


def test_a_missing_file_exits_2(tmp_path: Path) -> None:
    done = _replay(str(tmp_path / "nope.jsonl"), "--endpoint", "http://127.0.0.1:9")
    assert done.returncode == 2 and "no such file" in done.stderr
