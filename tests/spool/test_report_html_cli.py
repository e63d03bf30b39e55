"""``otel-mon report --html``: the file appears atomically, next to the usual table; bad buckets exit 2."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pytest
from spoolkit import LineBuilder

from otel_mon.commands import report as report_cmd
from otel_mon.spool.writer import SpoolWriter


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="otel-mon")
    report_cmd.add_parser(parser.add_subparsers(required=True))
    args = parser.parse_args(argv)
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


def fill(writer: SpoolWriter, start: float, n: int = 30) -> None:
    writer.append("metrics", [LineBuilder(start + i * 10).gauge("system.cpu.load_average.1m", 1.0 + i % 3)
                              .gauge("system.memory.usage", 40 + i, {"system.memory.state": "used"})
                              .gauge("system.memory.limit", 100).line() for i in range(n)])


def test_html_next_to_the_table(writer: SpoolWriter, data_dir: Path, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    fill(writer, time.time() - 400)
    out_file = tmp_path / "r.html"
    code, out, err = cli(["report", "--data-dir", str(data_dir), "--since", "10m", "--html", str(out_file),
                          "--bucket", "1m"], capsys)
    assert code == 0, err
    assert out.startswith("otel-mon report") and f"wrote {out_file}" in err
    page = out_file.read_text()
    assert page.startswith("<!doctype html>") and "one bucket = 1m00s" in page and "Load (1m)" in page
    assert not list(tmp_path.glob(".*.tmp"))  # written aside, then renamed


@pytest.mark.parametrize("bucket", ["0s", "soon"])
def test_bad_bucket(bucket: str, writer: SpoolWriter, data_dir: Path, tmp_path: Path,
                    capsys: pytest.CaptureFixture[str]) -> None:
    fill(writer, time.time() - 400)
    code, _out, err = cli(["report", "--data-dir", str(data_dir), "--since", "10m", "--html",
                           str(tmp_path / "r.html"), "--bucket", bucket], capsys)
    assert code == 2 and "invalid --bucket" in err and not (tmp_path / "r.html").exists()
