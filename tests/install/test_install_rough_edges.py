"""What a new user stumbles over, each fixed and held here: real processes, exit codes and output."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, agent_env
from tests.otlp_receiver import OtlpReceiver

EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def otel_mon(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
             timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "otel_mon", *args], capture_output=True, text=True,
                          timeout=timeout, env=env or agent_env(PYTHONPATH=str(ROOT)), cwd=cwd)


@pytest.mark.parametrize("args", [["check-config", "--print"], ["--help"], ["snapshot", "--wait", "0"]])
def test_a_closed_pipe_exits_quietly(args: list[str], tmp_path: Path) -> None:
    """`otel-mon ... | head`: the reader is gone before we write; no BrokenPipeError traceback."""
    read, write = os.pipe()
    os.close(read)  # the reader went away before the first byte
    proc = subprocess.run([sys.executable, "-m", "otel_mon", *args], stdout=write, stderr=subprocess.PIPE,
                          text=True, timeout=60, env=agent_env(PYTHONPATH=str(ROOT)), cwd=tmp_path)
    os.close(write)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    # 128 + SIGPIPE, as a shell reports coreutils in the same place (argparse's --help swallows the error: 0)
    assert proc.returncode == (0 if args == ["--help"] else 141)


def test_tail_interval_takes_a_duration_and_n_0_prints_nothing(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    out = otel_mon("tail", "--data-dir", str(spool), "-n", "0", "--interval", "1s")
    assert out.returncode == 0 and out.stdout == "" and out.stderr == ""  # nothing asked, nothing missing
    out = otel_mon("tail", "--data-dir", str(spool), "-n", "1")
    assert out.returncode == 0 and "no logs" in out.stderr
    out = otel_mon("tail", "--data-dir", str(spool), "--interval", "fast")
    assert out.returncode == 2 and "--interval" in out.stderr and "'fast'" in out.stderr


def test_unknown_env_variable_gets_a_did_you_mean() -> None:
    out = otel_mon("check-config", env=agent_env(PYTHONPATH=str(ROOT), OTEL_MON_HTTP_PORT="9100"))
    assert out.returncode == 2
    assert out.stderr.strip() == ("otel-mon: config error: OTEL_MON_HTTP_PORT: unknown setting 'http_port' "
                                  "(did you mean 'OTEL_MON_HTTP__PORT'?)")


def test_missing_probe_port_says_missing(tmp_path: Path) -> None:
    cfg = tmp_path / "p.yaml"
    cfg.write_text("probes:\n  - {name: ssh, kind: tcp, host: 127.0.0.1}\n", encoding="utf-8")
    out = otel_mon("check-config", str(cfg))
    assert out.returncode == 2
    assert out.stderr.strip() == "otel-mon: config error: probes[0].port: missing: required for kind tcp"
    assert "None" not in out.stderr


def test_duplicate_yaml_keys_are_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "dup.yaml"
    cfg.write_text("interval: 5s\nhttp: {port: 9100}\ninterval: 30s\n", encoding="utf-8")
    out = otel_mon("check-config", str(cfg))
    assert out.returncode == 2
    assert "line 3" in out.stderr and "duplicate key 'interval' (first on line 1)" in out.stderr
    merged = tmp_path / "merge.yaml"  # YAML merge keys may still override what they bring in
    merged.write_text("http: &h {port: 9100}\nspool:\n  dir: /tmp/x\n", encoding="utf-8")
    assert otel_mon("check-config", str(merged)).returncode == 0


def test_data_dir_that_cannot_be_created_names_the_setting(tmp_path: Path) -> None:
    out = otel_mon("run", "--data-dir", "/proc/otel-mon-spool", "--listen", "127.0.0.1:0", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1] == (
        "otel-mon: cannot start: spool.dir (--data-dir) '/proc/otel-mon-spool': No such file or directory")


def test_a_start_on_a_busy_port_writes_no_spool_line(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = otel_mon("run", "--data-dir", str(spool), "--listen", f"127.0.0.1:{port}", cwd=tmp_path)
    # A bind failure is a configuration error (exit 2: RestartPreventExitStatus stops the restart loop),
    # said in one line with nothing after it (no "otel-mon stopped ..." for an agent that never ran).
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines() == [
        f"otel-mon: config error: http: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(http.port, --listen)"], out.stderr
    lines = [line for f in spool.rglob("*.jsonl*") for line in f.read_bytes().splitlines()]
    assert lines == [], f"{len(lines)} spool lines written by a start that failed"


def _spool_file(path: Path) -> Path:
    good = json.dumps({"resourceMetrics": [{"resource": {"attributes": []}, "scopeMetrics": []}]})
    path.write_text(f"{good}\nnot json\n{good}\n", encoding="utf-8")
    return path


def test_replay_counts_lines_from_1(tmp_path: Path) -> None:
    spool = _spool_file(tmp_path / "m.jsonl")
    with OtlpReceiver() as receiver:
        out = otel_mon("replay", str(spool), "--endpoint", receiver.http_endpoint, "--protocol", "http/protobuf")
    assert f"{spool} line 2: skipped" in out.stderr, out.stderr


def test_replay_to_a_scheme_less_grpc_endpoint_explains_the_tls_failure(tmp_path: Path) -> None:
    spool = _spool_file(tmp_path / "m.jsonl")
    with OtlpReceiver() as receiver:  # plaintext gRPC
        bare = receiver.grpc_endpoint.split("://", 1)[1]
        out = otel_mon("replay", str(spool), "--endpoint", bare, "--protocol", "grpc", "--attempts", "1")
    assert out.returncode == 1
    assert f"use --endpoint http://{bare} (or --insecure)" in out.stderr, out.stderr
    assert "ssl_transport_security" not in out.stderr  # gRPC's own log lines stay out of the way


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_passes_check_config_as_shipped(example: Path, tmp_path: Path) -> None:
    out = otel_mon("check-config", str(example), env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
                   cwd=tmp_path)
    assert out.returncode == 0, out.stderr


def test_console_text_lines_have_no_python_reprs() -> None:
    from otel_mon.logsetup import TextFormatter

    record = logging.LogRecord("otel_mon.agent", logging.INFO, __file__, 1, "otel-mon stopped", (), None)
    record.spool_records = {"metrics": 9, "logs": 1}
    record.paths = ["a", "b"]
    record.why = 'say "hi"\nbye'
    line = TextFormatter().format(record)
    assert "spool_records.metrics=9 spool_records.logs=1 paths=a,b" in line
    assert "{" not in line and "\n" not in line


def test_health_strict_and_pretty() -> None:
    """Without ?strict, /health is 200 whatever the host state (the agent works); ?strict is 503 when critical."""
    from otel_mon.http.render import render_health

    critical = {"status": "critical", "health": {"status": "critical", "rules": []}}
    assert render_health(200, critical).status == 200
    assert render_health(200, critical, "strict").status == 503
    assert render_health(200, critical, "pretty&strict=1").status == 503
    warning = {"status": "warning", "health": {"status": "warning"}}
    assert render_health(200, warning, "strict").status == 200
    assert render_health(503, {"status": "starting"}, "strict").status == 503  # starting stays 503
    pretty = render_health(200, warning, "pretty").body.decode()
    assert pretty.startswith("{\n  ") and json.loads(pretty) == warning
    assert b"\n" not in render_health(200, warning).body.rstrip()


def test_health_query_through_the_server() -> None:
    from prometheus_client import CollectorRegistry

    from otel_mon.http.config import HttpConfig
    from otel_mon.http.server import HttpServer

    doc = {"status": "critical", "health": {"status": "critical"}}
    server = HttpServer(HttpConfig(port=0), CollectorRegistry(), lambda: (200, doc), lambda: True)
    assert server.respond("GET", "/health").status == 200
    assert server.respond("GET", "/health?strict").status == 503
    assert server.respond("GET", "/health?pretty").body.startswith(b"{\n")
