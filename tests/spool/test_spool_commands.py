"""``otel-mon report`` and ``otel-mon tail``: output and exit codes, in-process and as real processes."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from opentelemetry._logs import SeverityNumber
from spoolkit import ROOT, LineBuilder, LogsPipeline, child_env, run_python, wait_for

from otel_mon.commands import report as report_cmd
from otel_mon.commands import tail as tail_cmd
from otel_mon.spool.writer import SpoolWriter

HARNESS = """
import argparse, sys
from otel_mon.commands import report, tail
parser = argparse.ArgumentParser(prog="otel-mon")
sub = parser.add_subparsers(required=True)
report.add_parser(sub)
tail.add_parser(sub)
args = parser.parse_args(sys.argv[1:])
sys.exit(args.func(args))
"""


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The commands behind a tiny argparse front, as ``cli.py`` mounts them."""
    parser = argparse.ArgumentParser(prog="otel-mon")
    sub = parser.add_subparsers(required=True)
    report_cmd.add_parser(sub)
    tail_cmd.add_parser(sub)
    args = parser.parse_args(argv)
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


def fill_metrics(writer: SpoolWriter, start: float, n: int = 4) -> None:
    writer.append("metrics", [LineBuilder(start + i * 10).gauge("system.cpu.load_average.1m", 1.0 + i)
                              .gauge("system.memory.usage", 50, {"system.memory.state": "used"})
                              .gauge("system.memory.limit", 100).line()
                              for i in range(n)])


def test_report_since(writer: SpoolWriter, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fill_metrics(writer, time.time() - 120)
    code, out, err = cli(["report", "--data-dir", str(data_dir), "--since", "10m"], capsys)
    assert code == 0, err
    load = next(line for line in out.splitlines() if line.startswith("load 1m"))
    assert load.split()[2:] == ["2.50", "1.00", "4.00", "4.00", "4"]


def test_report_from_to_and_json(writer: SpoolWriter, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fill_metrics(writer, 1_800_000_000.0)  # 2027-01-15T08:00:00Z
    code, out, _err = cli(["report", "--data-dir", str(data_dir), "--from", "2027-01-15T08:00:05Z",
                           "--to", "1800000030", "--json"], capsys)
    assert code == 0
    doc = json.loads(out)
    (load,) = [m for m in doc["metrics"] if m["label"] == "load 1m"]
    assert (load["samples"], load["avg"]) == (3, 3.0)
    assert doc["from"] == "2027-01-15T08:00:05Z"


@pytest.mark.parametrize(("args", "message"), [
    (["--since", "soon"], "invalid --since 'soon'"),
    (["--since", "1h", "--from", "2027-01-01"], "use either --since or --from/--to"),
    (["--from", "yesterday"], "invalid time 'yesterday'"),
    (["--from", "2027-01-02", "--to", "2027-01-01"], "--from is after --to"),
])
def test_report_bad_arguments(args: list[str], message: str, data_dir: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(["report", "--data-dir", str(data_dir), *args], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err


def test_report_empty_spool_and_missing_dir(data_dir: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    (data_dir / "metrics").mkdir(parents=True)
    code, out, err = cli(["report", "--data-dir", str(data_dir)], capsys)
    assert (code, out) == (0, "")
    assert "no metrics in" in err
    code, _out, err = cli(["report", "--data-dir", str(tmp_path / "nope")], capsys)
    assert code == 1 and "directory does not exist" in err


def test_tail_logs_and_metrics(writer: SpoolWriter, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pipeline = LogsPipeline(writer)
    try:
        for i in range(5):
            pipeline.emit(f"message {i}", SeverityNumber.INFO, {"n": i}, t=1_800_000_000 + i)
    finally:
        pipeline.shutdown()
    fill_metrics(writer, 1_800_000_000.0)
    code, out, _err = cli(["tail", "--data-dir", str(data_dir), "-n", "2"], capsys)
    assert code == 0
    assert out.splitlines() == ["2027-01-15T08:00:03.000Z INFO  message 3  n=3",
                                "2027-01-15T08:00:04.000Z INFO  message 4  n=4"]
    code, out, _err = cli(["tail", "--data-dir", str(data_dir), "--metrics", "-n", "1"], capsys)
    assert out.splitlines() == ["2027-01-15T08:00:30.000Z  mem 50.0%  load1 4.00  (3 points)"]


def test_tail_bad_arguments_and_empty(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir.mkdir()
    code, _out, err = cli(["tail", "--data-dir", str(data_dir), "-n", "-3"], capsys)
    assert code == 2 and err.count("\n") == 1
    code, out, err = cli(["tail", "--data-dir", str(data_dir)], capsys)
    assert (code, out) == (0, "") and "no logs in" in err


def test_exit_codes_of_real_processes(writer: SpoolWriter, data_dir: Path) -> None:
    fill_metrics(writer, time.time() - 60)
    ok = run_python(HARNESS, "report", "--data-dir", str(data_dir))
    assert ok.returncode == 0 and ok.stdout.startswith("otel-mon report")
    bad = run_python(HARNESS, "report", "--data-dir", str(data_dir), "--since=-5m")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    both = run_python(HARNESS, "tail", "--data-dir", str(data_dir), "--logs", "--metrics")
    assert both.returncode == 2  # argparse: not allowed together


def test_tail_follow_in_a_real_process(writer: SpoolWriter, data_dir: Path) -> None:
    pipeline = LogsPipeline(writer)
    pipeline.emit("before", t=1_800_000_000)
    # A shell without job control starts background jobs with SIGINT ignored, and Python then keeps it ignored:
    # give the child the default handler a terminal would, so Ctrl-C is what this test sends.
    restore_sigint = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    proc = subprocess.Popen([sys.executable, "-c", restore_sigint + HARNESS, "tail", "--data-dir", str(data_dir),
                             "-f", "-n", "1", "--interval", "0.02"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=child_env(), cwd=ROOT)
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(iter(proc.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        wait_for(lambda: len(seen) >= 1, what="the existing record")
        pipeline.emit("after", SeverityNumber.WARN, t=1_800_000_001)
        wait_for(lambda: len(seen) >= 2, what="the followed record")
    finally:
        pipeline.shutdown()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)  # a loaded 2-core machine: exiting can take a while
    reader.join(timeout=10)
    assert seen == ["2027-01-15T08:00:00.000Z INFO  before\n", "2027-01-15T08:00:01.000Z WARN  after\n"]
    assert proc.returncode == 0
