"""The textfile directory on a running agent: files written and replaced atomically while it runs, each bad
case skipped alone, values on /metrics, on /metrics/node_exporter, in a spool line and at an OTLP receiver."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from otel_mon.host.textfile import Refused, parse_textfile
from tests.conftest import ROOT, AgentProcess, agent_env, wait_until
from tests.otlp_receiver import OtlpReceiver


def write_atomically(path: Path, text: str) -> None:
    """What cron jobs do (client_python's write_to_textfile): a temp file in the same directory, renamed."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


GOOD = ("# HELP backup_last_success_timestamp_seconds When the last backup finished.\n"
        "# TYPE backup_last_success_timestamp_seconds gauge\n"
        'backup_last_success_timestamp_seconds{job="db"} 1700000000\n'
        "# TYPE backup_runs_total counter\nbackup_runs_total 7\n"
        "apt_upgrades_pending 3\n")


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    rx = OtlpReceiver().start()
    yield rx
    rx.stop()


def test_textfiles_reach_every_output_and_bad_files_are_skipped_alone(
        start_agent: Callable[..., AgentProcess], tmp_path: Path, receiver: OtlpReceiver) -> None:
    tf = tmp_path / "textfile"
    tf.mkdir()
    write_atomically(tf / "backup.prom", GOOD)
    write_atomically(tf / "bad.prom", "this is { not a metric\n")
    write_atomically(tf / "stamped.prom", "stamped_metric 1 1700000000000\n")
    write_atomically(tf / "mine.prom", "system_cpu_time_seconds_total 1\n")
    write_atomically(tf / "huge.prom", "huge_metric 1\n" + "# padding\n" * 20_000)
    (tf / "unreadable.prom").mkdir()  # open() fails whoever runs the test (root reads any mode)
    write_atomically(tf / "other.txt", "not_a_prom_file 1\n")
    env = agent_env(PYTHONPATH=str(ROOT), OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint("grpc"),
                    OTEL_EXPORTER_OTLP_PROTOCOL="grpc")
    agent = start_agent("--interval", "1s", "--set", f"textfile.directory={tf}", "--set",
                        "textfile.max_file_size=64KiB", "--set", "compat.node_exporter=true", env=env)

    def metrics() -> str:
        return agent.get("/metrics")[1].decode()

    text = wait_until(lambda: when(metrics(), "apt_upgrades_pending"), 30, what="textfile on /metrics")
    assert 'backup_last_success_timestamp_seconds{' in text and 'job="db"' in text
    assert "# TYPE backup_runs_total counter" in text and "\nbackup_runs_total{" in text
    for skipped in ("stamped_metric", "huge_metric", "this"):
        assert f"\n{skipped}" not in text
    errors = {line.split('file="')[1].split('"')[0].rsplit("/", 1)[1]: line.rsplit(" ", 1)[1]
              for line in text.splitlines() if line.startswith("otel_mon_textfile_error{")}
    assert errors == {"backup.prom": "0.0", "bad.prom": "1.0", "stamped.prom": "1.0", "mine.prom": "1.0",
                      "huge.prom": "1.0", "unreadable.prom": "1.0"}

    compat = agent.get("/metrics/node_exporter")[1].decode()
    assert 'backup_last_success_timestamp_seconds{job="db"} 1.7e+09' in compat
    assert "# TYPE apt_upgrades_pending untyped\napt_upgrades_pending 3.0\n" in compat
    assert "node_textfile_scrape_error 1.0\n" in compat
    assert f'node_textfile_mtime_seconds{{file="{tf / "backup.prom"}"}}' in compat
    assert f'node_textfile_mtime_seconds{{file="{tf / "bad.prom"}"}}' not in compat

    # replaced atomically while the agent runs: the new value everywhere; a deleted file's series go
    write_atomically(tf / "backup.prom", GOOD.replace("apt_upgrades_pending 3", "apt_upgrades_pending 11"))
    for name in ("bad.prom", "stamped.prom", "mine.prom", "huge.prom"):
        (tf / name).unlink()
    (tf / "unreadable.prom").rmdir()
    write_atomically(tf / "later.prom", "later_metric 42\n")
    compat = wait_until(lambda: when(agent.get("/metrics/node_exporter")[1].decode(), "apt_upgrades_pending 11.0",
                                     "later_metric 42.0"), 30, what="the replaced file's value")
    assert "node_textfile_scrape_error 0.0\n" in compat
    text = wait_until(lambda: when(metrics(), "later_metric{"), 30, what="the new file on /metrics")
    assert next(line for line in text.splitlines() if line.startswith("apt_upgrades_pending{")).endswith(" 11.0")
    assert "bad.prom" not in text and "later_metric{" in text

    # the spool line and the OTLP receiver carry them as OTel metrics
    def spooled() -> set[str]:
        names = set()
        for f in (tmp_path / "data" / "metrics").glob("*.jsonl"):
            for line in f.read_text().splitlines():
                for rm in json.loads(line)["resourceMetrics"]:
                    names.update(m["name"] for sm in rm["scopeMetrics"] for m in sm["metrics"])
        return names

    wait_until(lambda: {"apt_upgrades_pending", "backup_runs", "later_metric"} <= spooled(), 30, what="spool")
    assert "sum" in next(m for m in _spooled_metrics(tmp_path) if m["name"] == "backup_runs")

    def received() -> set[str]:
        return {m.name for req in receiver.requests("metrics") for rm in req.request.resource_metrics
                for sm in rm.scope_metrics for m in sm.metrics}

    assert receiver.wait_for(lambda r: {"apt_upgrades_pending", "backup_runs"} <= received(), 60)
    log = agent.stderr()
    assert log.count("textfile skipped") == 5, log  # once per file, not once per collection


def when(text: str, *wanted: str) -> str | None:
    return text if all(w in text for w in wanted) else None


def _spooled_metrics(tmp_path: Path) -> list[dict[str, object]]:
    out = []
    for f in (tmp_path / "data" / "metrics").glob("*.jsonl"):
        for line in f.read_text().splitlines():
            for rm in json.loads(line)["resourceMetrics"]:
                out.extend(m for sm in rm["scopeMetrics"] for m in sm["metrics"])
    return out


def test_parser_refusals_say_why() -> None:
    with pytest.raises(Refused, match="timestamp"):
        parse_textfile("a 1 123\n", "/x.prom", frozenset())
    with pytest.raises(Refused, match="agent's own"):
        parse_textfile("system_uptime_seconds 1\n", "/x.prom", frozenset({"system_uptime_seconds"}))
    with pytest.raises(Refused, match="malformed"):
        parse_textfile("a{b= 1\n", "/x.prom", frozenset())
    (family,) = parse_textfile("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n", "/x", frozenset())
    assert family.kind == "histogram" and len(family.samples) == 3
