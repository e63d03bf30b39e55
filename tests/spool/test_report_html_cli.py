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


def test_short_window_buckets_follow_the_data_interval(writer: SpoolWriter, data_dir: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 24: ``--since 10m`` picked 10 s buckets over 15 s data, so network charts were blank while the
    summary said 375 B/s, and tooltips said "(1 samples)". A bucket is never shorter than the interval (30 s
    here), rates run across buckets, and each tooltip counts the rates in its bucket."""
    import html
    import re

    now = time.time()
    start = now - 590
    writer.append("metrics", [
        LineBuilder(start + i * 15).counter("system.network.io", 375.0 * 15 * i, {
            "network.interface.name": "eth0", "network.io.direction": "receive"})
        .counter("system.network.io", 1e6 * i, {"network.interface.name": "lo", "network.io.direction": "receive"})
        .gauge("system.cpu.load_average.1m", 0.5).line() for i in range(40)])
    out_file = tmp_path / "r.html"
    code, out, err = cli(["report", "--data-dir", str(data_dir), "--since", "10m", "--html", str(out_file)], capsys)
    assert code == 0, err
    rows = [line.split() for line in out.splitlines() if line.startswith("network ")]
    assert rows == [["network", "eth0", "receive", *["375", "B/s"] * 4, "39"]]  # scaled units; no lo
    page = html.unescape(out_file.read_text())
    assert "one bucket = 30s" in page
    start_of_chart = page.index("<h3>Network eth0 in</h3>")
    chart = page[start_of_chart:page.index("</section>", start_of_chart)]
    tips = re.findall(r"<title>([^<]*UTC: avg [^<]*)</title>", chart)
    assert len(tips) >= 19, tips  # every bucket the data covers has a rate (20 buckets of 30 s, edges aside)
    counts = [int(m) for t in tips for m in re.findall(r"\((\d+) samples?\)", t)]
    assert all(t.split("avg ")[1].startswith("375 B/s") for t in tips), tips
    # 40 collections 15 s apart: 39 rates in all, two to a bucket (one crossing in from the bucket before).
    assert sum(counts) == 39 and set(counts) <= {1, 2}, counts
    assert "(1 samples)" not in page
