"""Every PromQL expression the stack ships (alert rules and dashboard panels), run through a real Prometheus
scraping a real agent (which also remote-writes to it, so the forwarder series exist): each parses, and each
series it selects has data, except a checked list of selectors with a reason. Drift between the metric
names the agent emits and the names the rules and panels use fails here."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, AgentProcess, agent_env, wait_until
from tests.stack.stackkit import DASHBOARD, RULES_DIR, Prometheus

pytestmark = pytest.mark.integration

# Selectors allowed to return nothing here, and why.
EXCEPTIONS = {
    "hw_temperature_celsius": "no hardware sensors on a VM",
    "otel_mon_host_oom_kills_total": "present only where /proc/vmstat has oom_kill (checked separately below)",
}
_FUNCTIONS = {
    "sum", "avg", "min", "max", "count", "rate", "irate", "increase", "by", "without", "on", "ignoring",
    "group_left", "group_right", "scalar", "topk", "bottomk", "and", "or", "unless", "offset", "abs", "deriv",
    "resets", "predict_linear", "present_over_time", "min_over_time", "max_over_time", "histogram_quantile",
    "count_over_time", "avg_over_time", "label_values", "clamp_min", "clamp_max", "time", "vector", "bool",
    "le", "sort_desc", "sort", "absent", "absent_over_time", "timestamp", "round", "delta", "idelta",
    "quantile_over_time", "last_over_time", "changes", "ln", "exp", "sqrt", "ceil", "floor",
}


def _expressions() -> list[tuple[str, str]]:
    out = []
    for path in sorted(RULES_DIR.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                out.append((f"rule {rule.get('alert') or rule.get('record')}", rule["expr"]))
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            if (target.get("datasource") or panel.get("datasource") or {}).get("uid") == "loki":
                continue  # LogQL for Loki, not PromQL (no Loki here)
            out.append((f"panel {panel.get('title')}", target["expr"]))
    return out


def _concrete(expr: str) -> str:
    """Grafana variables replaced by what they select when 'All' is chosen."""
    expr = expr.replace("$__rate_interval", "1m").replace("$__interval", "15s").replace("$__range", "1h")
    return re.sub(r"\$\{?(\w+)\}?", ".*", expr)


def _selectors(expr: str) -> list[str]:
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\{[^}]*\}", "{}", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = re.findall(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?=\{|\)|\s|$|\[|,|/|\*|-|\+|>|<|=)", text)
    return sorted({n for n in names if n not in _FUNCTIONS and not n.isdigit()})


def test_every_rule_and_panel_expression_parses_and_selects_data(start_agent: Callable[..., AgentProcess],
                                                                 tmp_path: Path) -> None:
    prom = Prometheus(tmp_path / "prom", {})
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump({"probes": [
        {"name": "prometheus", "kind": "tcp", "host": "127.0.0.1", "port": prom.port, "interval": "1s",
         "timeout": "500ms"}]}))
    try:
        env = agent_env(PYTHONPATH=str(ROOT), OTEL_MON_REMOTE_WRITE__URL=prom.write_url)
        agent = start_agent("--interval", "1s", "--config", str(config), "--data-dir", str(tmp_path / "data"),
                            env=env)
        prom.config_file.write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "scrape_timeout": "900ms", "evaluation_interval": "1s"},
            "storage": {"tsdb": {"out_of_order_time_window": "30m"}},
            "scrape_configs": [{"job_name": "otel-mon", "static_configs": [{"targets": [f"127.0.0.1:{agent.port}"]}]}],
        }))
        prom.start()
        wait_until(lambda: prom.query('rate(system_cpu_time_seconds_total{job="otel-mon"}[1m])'), 60,
                   interval=0.5, what="two scrapes of the agent")
        wait_until(lambda: prom.query("otel_mon_forward_sent_total > 0"), 30, interval=0.5)
        wait_until(lambda: prom.query("otel_mon_probe_duration_seconds_bucket"), 30, interval=0.5)

        empty: dict[str, str] = {}
        checked = 0
        for where, raw in _expressions():
            expr = _concrete(raw)
            result = prom.query(expr)  # parses and evaluates (raises on a PromQL error)
            if where.startswith("panel") and not result:
                empty[f"<{where}>"] = expr  # a panel must show something (rules may well be empty: thresholds)
            for name in _selectors(expr):
                checked += 1
                if not prom.query(f"count({name})") and name != "up":
                    empty[name] = where
        assert checked > 40
        assert set(empty) <= set(EXCEPTIONS), {n: w for n, w in empty.items() if n not in EXCEPTIONS}
        vmstat = Path("/proc/vmstat").read_text()
        if "oom_kill " in vmstat:
            assert prom.query("count(otel_mon_host_oom_kills_total)")
    finally:
        prom.stop()
