"""Every dashboard panel expression and every alert rule expression gives the same answer on both metric paths
for the same host: (a) a Prometheus 3 scraping the agent's /metrics, and (b) the agent pushing OTLP to a real
Collector on the shipped collector-config/otelcol.yaml, which remote-writes to a second Prometheus 3. One agent
feeds both, so both hold the same collections.

The two paths timestamp differently: a scrape stamps a sample with the scrape's time, remote write with the
collection's. So instant expressions are evaluated at a moment when both hold the same collection (found by
the uptime reading, which changes every collection), where they must agree exactly (to the 15 significant
digits /metrics prints). Range expressions (rate and friends) see the same values at times shifted by up to one
scrape, so they get a relative tolerance. Series are compared with ``job`` and ``instance`` left out: those
name the scrape target on one path and the pushing service on the other (README "One namer"). The exceptions,
with the reason for each, are EXCEPTIONS below and docs/stack.md.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, AgentProcess, agent_env, free_port, wait_until
from tests.stack.stackkit import Prometheus
from tests.stack.test_stack_collector_real import Collector
from tests.stack.test_stack_promql import _expressions

pytestmark = pytest.mark.integration

INTERVAL = 1.0  # the agent's collection interval; Prometheus scrapes five times as often
WINDOW = "30s"  # what $__rate_interval / $__range stand for here
PRINTED = 1e-14  # relative: /metrics prints 15 significant digits, remote write carries the double
RANGE_TOLERANCE = 0.05  # relative, for expressions over a range (samples shifted by up to one scrape)
# Expressions whose answers differ between the paths by design, and why.
EXCEPTIONS = {
    "rule OtelMonScrapeDown": "reads `up`, which exists only where Prometheus scrapes the agent",
    # A least-squares fit through the samples: the scraped path holds each collection's value five times at
    # scrape times, the pushed path once at its collection time, so the fitted slopes differ (and 24 h ahead
    # the difference is gigabytes). Same data, a different estimator's input.
    "rule HostFilesystemFillingUp": "predict_linear's fit differs with the sample placement (see above)",
    "rule OtelMonForwardBacklogGrowing": "deriv's fit differs with the sample placement, as predict_linear's",
}
# Labels left out of the comparison: job and instance name the scrape target on one path and the pushing service
# on the other; otel_scope_schema_url is on /metrics (opentelemetry-exporter-prometheus writes it) but the
# Collector's prometheus_remote_write exporter (contrib 0.158.0) sends otel_scope_name/version only. No shipped
# panel or rule selects or groups by any of them.
PATH_LABELS = {"job", "instance", "otel_scope_schema_url"}


def _concrete(expr: str) -> str:
    expr = expr.replace("$__rate_interval", WINDOW).replace("$__interval", "1s").replace("$__range", WINDOW)
    return re.sub(r"\$\{?(\w+)\}?", ".*", expr)


_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _windows(expr: str, shorter_by: float) -> str:
    """Every range window capped at WINDOW (the data is younger than a rule's 15m), then ``shorter_by`` seconds
    less. Remote write stamps a sample with its collection's time and a scrape with its own, up to one scrape
    later: a window of WINDOW on the pushed path holds collections ts-29..ts, and the same window on the scraped
    path also holds the tail of collection ts-30's samples. One interval less on the scraped path holds exactly
    the same collections, so a rate over bursty counters (disk, network) compares like for like."""
    cap = float(WINDOW.rstrip("s"))

    def one(match: re.Match[str]) -> str:
        seconds = sum(float(n) * _UNITS[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", match.group(1)))
        return f"[{round((min(seconds, cap) - shorter_by) * 1000)}ms]"

    return re.sub(r"\[([0-9.smhd]+)\]", one, expr)


def _is_range(expr: str) -> bool:
    return bool(re.search(r"\[[^\]]+\]", expr)) or "time()" in expr


def _answer(prom: Prometheus, expr: str, at: float) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in prom.query(expr, time=at):
        labels = {k: v for k, v in r["metric"].items() if k not in PATH_LABELS}
        key = json.dumps(labels, sort_keys=True)
        assert key not in out, f"{expr}: two series differ only by job/instance: {key}"
        out[key] = float(r["value"][1])
    return out


def _close(a: float, b: float, relative: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=relative, abs_tol=1e-12)


def test_every_panel_and_rule_gives_the_same_answer_on_the_scrape_and_the_collector_path(
        start_agent: Callable[..., AgentProcess], tmp_path: Path) -> None:
    scrape = Prometheus(tmp_path / "scrape", {})
    pushed = Prometheus(tmp_path / "pushed", {"global": {"evaluation_interval": "1s"}})
    collector: Collector | None = None
    probe_target = free_port()  # nothing listens: a failing probe, so probe panels and rules have data
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump({"cpu": {"per_logical": True}, "probes": [
        {"name": "closed", "kind": "tcp", "host": "127.0.0.1", "port": probe_target, "interval": "1s",
         "timeout": "500ms"}]}))
    try:
        pushed.start()  # before the Collector, whose first remote write would otherwise fail and log an error
        collector = Collector("otelcol.yaml", tmp_path / "collector",
                              env={"PROMETHEUS_REMOTE_WRITE_URL": pushed.write_url})
        env = agent_env(PYTHONPATH=str(ROOT), OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{collector.grpc}",
                        OTEL_EXPORTER_OTLP_PROTOCOL="grpc")
        agent = start_agent("--interval", f"{INTERVAL:g}s", "--config", str(config), "--data-dir",
                            str(tmp_path / "data"), env=env)
        scrape.config_file.write_text(yaml.safe_dump({
            "global": {"scrape_interval": "200ms", "scrape_timeout": "190ms", "evaluation_interval": "1s"},
            "storage": {"tsdb": {"out_of_order_time_window": "30m"}},
            "scrape_configs": [{"job_name": "otel-mon", "static_configs": [{"targets": [f"127.0.0.1:{agent.port}"]}]}],
        }))
        scrape.start()
        started = time.time()
        # A full window of collections on both paths.
        wait_until(lambda: pushed.query(f"count_over_time(system_uptime_seconds[{WINDOW}]) >= 25"), 120,
                   interval=0.5, what="30 s of collections through the Collector")
        wait_until(lambda: scrape.query(f"count_over_time(system_uptime_seconds[{WINDOW}]) >= 100"), 60,
                   interval=0.5, what="30 s of scrapes")

        def same(a: dict[str, float], b: dict[str, float]) -> bool:
            return bool(a) and a.keys() == b.keys() and all(_close(a[k], b[k], PRINTED) for k in a)

        def aligned() -> float | None:
            """A time at which both paths' windows hold the same collections: the newest uptime reading and
            the oldest in the window (scraped path's window one interval shorter) are the same on both."""
            result = pushed.query("system_uptime_seconds[1m]")
            if not result:
                return None
            samples = result[0]["values"]
            for ts, _ in reversed(samples[:-1]):
                at = float(ts) + 0.6 * INTERVAL
                newest = "system_uptime_seconds"
                oldest = f"min_over_time(system_uptime_seconds[{WINDOW}])"
                if same(_answer(scrape, newest, at), _answer(pushed, newest, at)) and same(
                        _answer(scrape, _windows(oldest, INTERVAL), at), _answer(pushed, _windows(oldest, 0), at)):
                    return at
            return None

        at = wait_until(aligned, 60, interval=0.5, what="a moment both paths hold the same collection")
        assert at - started > float(WINDOW.rstrip("s")) + 1, "the scraped path holds a full window"

        problems: list[str] = []
        compared = 0
        for where, raw in _expressions():
            expr = _concrete(raw)
            a, b = _answer(scrape, _windows(expr, INTERVAL), at), _answer(pushed, _windows(expr, 0), at)
            if where in EXCEPTIONS:
                continue
            compared += 1
            if a.keys() != b.keys():
                problems.append(f"{where}: series differ: scrape only {sorted(a.keys() - b.keys())[:3]}, "
                                f"collector only {sorted(b.keys() - a.keys())[:3]} ({expr})")
                continue
            relative = RANGE_TOLERANCE if _is_range(expr) else PRINTED
            for key, value in a.items():
                if not _close(value, b[key], relative):
                    problems.append(f"{where} {key}: scrape {value!r}, collector {b[key]!r} ({expr})")
        assert compared > 30
        assert problems == [], "\n".join(problems)
        assert collector.complaints() == []
    finally:
        scrape.stop()
        pushed.stop()
        if collector is not None:
            collector.stop()
