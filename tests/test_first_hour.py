"""The first hour of a new user (issue 24): what `make run` installs, what the start says, what --help lists."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import ROOT, AgentProcess, agent_env, free_port, wait_until


def test_make_run_installs_the_runtime_only_and_make_test_the_rest(tmp_path: Path) -> None:
    venv = tmp_path / "venv"

    def planned(target: str) -> list[str]:
        out = subprocess.run(["make", "-n", "-B", target, f"VENV={venv}"], cwd=ROOT, capture_output=True,
                             text=True, timeout=60, check=True)
        return [line for line in out.stdout.splitlines() if "pip install" in line and "--upgrade pip" not in line]

    assert planned("run") == [f"{venv}/bin/pip install --quiet -e ."]
    assert f"{venv}/bin/pip install --quiet -e '.[test,bench]'" in planned("test")


def test_run_help_lists_the_status_page() -> None:
    out = subprocess.run([sys.executable, "-m", "otel_mon", "run", "--help"], capture_output=True, text=True,
                         timeout=60, env=agent_env(PYTHONPATH=str(ROOT)), cwd=ROOT)
    text = " ".join(out.stdout.split())
    assert out.returncode == 0
    assert "status page at /" in text and "status page /, /metrics, /health and /ready" in text, text


def _log_lines(stderr: str) -> list[str]:
    """The console lines without their timestamp and level."""
    return [re.sub(r"^\S+ +[A-Z]+ +", "", line) for line in stderr.splitlines()]


def test_the_start_says_where_to_look_once(start_agent: Callable[..., AgentProcess], tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    otlp, rw = free_port(), free_port()  # nothing listens there: the lines are said all the same
    agent = start_agent("--data-dir", str(spool), "--set", f"otlp.endpoint=http://127.0.0.1:{otlp}",
                        "--set", "otlp.protocol=grpc", "--set", f"remote_write.url=http://127.0.0.1:{rw}/api/v1/write")
    base = agent.base
    wanted = [
        f"otel_mon.agent: status page {base}/ (Prometheus {base}/metrics, JSON /health, /ready) "
        f"listen=127.0.0.1:{agent.port} tls=False auth=False",
        f"otel_mon.agent: spool {spool} (OTLP-JSON lines; `otel-mon tail` reads it)",
        f"otel_mon.agent: forwarding metrics over OTLP to http://127.0.0.1:{otlp} protocol=grpc",
        f"otel_mon.agent: forwarding logs over OTLP to http://127.0.0.1:{otlp} protocol=grpc",
        f"otel_mon.agent: forwarding metrics by Prometheus remote write to http://127.0.0.1:{rw}/api/v1/write",
    ]
    lines = wait_until(lambda: (got := _log_lines(agent.stderr())) and all(w in got for w in wanted) and got,
                       30, what="the start-up lines")
    for line in wanted:
        assert lines.count(line) == 1, (line, lines)
    start = next(i for i, line in enumerate(lines) if line.startswith("otel_mon.agent: starting otel-mon"))
    assert lines[start + 1:start + 1 + len(wanted)] == wanted, lines


def test_a_newcomer_installs_the_wheel_and_runs_it_from_another_directory(tmp_path: Path) -> None:
    """Issue 24's newcomer: the wheel into a fresh venv (offline, tests/install/test_install_package.py), then
    ``otel-mon run`` with no flags from a directory of their own: the start-up lines name the status page, /metrics
    and the spool directory, and the first HTML of / (before any script) already shows the host's state."""
    import json
    import os
    import signal
    import urllib.request

    from tests.install.test_install_package import install_wheel

    tbin, site = install_wheel(tmp_path / "build")
    docs = site.parent.parent.parent / "share" / "doc" / "otel-mon"  # the unit's Documentation= points here
    assert (docs / "README.md").is_file() and (docs / "LICENSE").is_file(), sorted(docs.parent.glob("*"))
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()  # the default 9464 may be taken on a shared machine: the one setting given
    env = {k: v for k, v in agent_env(OTEL_MON_HTTP__PORT=str(port)).items() if k != "PYTHONPATH"}
    env["PATH"] = f"{tbin}{os.pathsep}{env.get('PATH', '')}"
    log = (home / "stderr").open("wb")
    proc = subprocess.Popen(["otel-mon", "run"], cwd=home, env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        def said() -> list[str] | None:
            lines = _log_lines((home / "stderr").read_text(errors="replace"))
            return lines if any(line.startswith("otel_mon.agent: spool ") for line in lines) else None

        lines = wait_until(said, 60, what="the start-up lines")
        assert f"otel_mon.agent: status page {base}/ (Prometheus {base}/metrics, JSON /health, /ready) " \
               f"listen=127.0.0.1:{port} tls=False auth=False" in lines, lines
        assert f"otel_mon.agent: spool {home / 'data'} (OTLP-JSON lines; `otel-mon tail` reads it)" in lines

        def first_html() -> str | None:
            try:
                with urllib.request.urlopen(base + "/health", timeout=5) as resp:
                    health = json.loads(resp.read())
                with urllib.request.urlopen(base + "/", timeout=5) as resp:
                    html: str = resp.read().decode()
            except OSError:
                return None
            return html if health.get("host", {}).get("cpu_percent") is not None else None

        html = wait_until(first_html, 60, what="a page after the second collection")
        figures = dict(re.findall(r'<dd id="fv-([^"]+)">([^<]*)</dd>', html))
        assert figures["health"] in ("ok", "warning", "critical", "no data"), figures
        assert re.fullmatch(r"\d+\.\d %", figures["cpu"]) and re.fullmatch(r"\d+\.\d %", figures["memory"])
        assert "connecting…" not in html
        assert list((home / "data" / "metrics").glob("*.jsonl")), "the spool is where the line said"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()
    assert proc.returncode == 0, (home / "stderr").read_text()


def test_health_has_one_time_format_and_one_rounding(start_agent: Callable[..., AgentProcess],
                                                    tmp_path: Path) -> None:
    """Issue 24 item 9: ``forward.last_success`` was an epoch float next to ISO ``since``; rounding varied."""
    import json

    closed = free_port()  # the forwarder fails there: last_error carries a time
    agent = start_agent("--data-dir", str(tmp_path / "spool"), "--set", f"otlp.endpoint=http://127.0.0.1:{closed}",
                        "--set", "interval=500ms")

    def failed() -> dict[str, object] | None:
        doc: dict[str, object] = json.loads(agent.get("/health")[1])
        signals = doc.get("forward", {}).get("signals", {})  # type: ignore[attr-defined]
        return doc if signals and all(s.get("last_error") for s in signals.values()) else None

    doc = wait_until(failed, 60, what="the forwarder's first failure")
    iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
    times: list[str] = []
    loose: list[str] = []

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{path}.{k}")
            return
        if isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")
            return
        key = path.rsplit(".", 1)[-1]
        if key in ("at", "since", "time", "last_success", "measured_at") and node is not None:
            assert isinstance(node, str) and iso.match(node), (path, node)
            times.append(path)
        if isinstance(node, float):
            decimals = len(repr(node).split(".")[1]) if "." in repr(node) and "e" not in repr(node) else 0
            if decimals > (6 if ".clock." in path else 3):
                loose.append(f"{path}={node!r}")

    walk(doc, "")
    assert any(p.endswith("last_error.time") for p in times), times
    assert loose == []
