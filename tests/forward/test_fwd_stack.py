"""The deployment files (collector config, compose stack, Grafana provisioning) hold together.

Docker is not available to the suite, so this checks what can be checked without it: every file parses,
every reference resolves (pipelines to components, mounts to files, datasources to services), and every
metric a dashboard queries exists in the metric table (host/table.py) under the name the Collector's Prometheus exporter
gives it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from otel_mon.host.table import METRICS
from otel_mon.metric_spec import MetricSpec

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose"
COLLECTOR = ROOT / "collector-config" / "otelcol.yaml"
DASHBOARD = COMPOSE / "grafana" / "provisioning" / "dashboards" / "otel-mon.json"

_UNIT_SUFFIX = {"s": "seconds", "By": "bytes", "Hz": "hertz", "Cel": "celsius", "%": "percent"}


def collector_prometheus_name(spec: MetricSpec) -> str:
    """The Collector's translation: dots to underscores, unit suffix (``1`` on gauges -> ``_ratio``, ``{...}``
    annotations dropped), ``_total`` on monotonic counters."""
    name = spec.name.replace(".", "_")
    suffix = _UNIT_SUFFIX.get(spec.unit, "")
    if spec.unit == "1" and spec.instrument in ("gauge", "updowncounter"):
        suffix = "ratio"
    if suffix and not name.endswith(f"_{suffix}"):
        name = f"{name}_{suffix}"
    return name + ("_total" if spec.instrument == "counter" else "")


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def collector() -> dict[str, Any]:
    config = _load(COLLECTOR)
    assert isinstance(config, dict)
    return config


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    config = _load(COMPOSE / "docker-compose.yaml")
    assert isinstance(config, dict)
    return config


def test_every_pipeline_references_defined_components(collector: dict[str, Any]) -> None:
    service = collector["service"]
    for extension in service.get("extensions", []):
        assert extension in collector["extensions"], extension
    assert set(service["pipelines"]) >= {"metrics", "logs", "metrics/spool"}
    for name, pipeline in service["pipelines"].items():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in (collector.get(kind) or {}), f"{name}: {kind} {component} is not defined"
        assert pipeline["processors"][0] == "memory_limiter", f"{name}: memory_limiter must come first"
        assert "batch" not in pipeline["processors"], f"{name}: batch acknowledges before export"


def test_receivers_and_exporters_as_the_agent_and_stack_expect(collector: dict[str, Any]) -> None:
    protocols = collector["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317" and protocols["http"]["endpoint"] == "0.0.0.0:4318"
    prw = collector["exporters"]["prometheus_remote_write"]
    assert prw["wal"]["directory"].startswith("/var/lib/otelcol/")
    assert "resource_to_telemetry_conversion" not in prw  # deprecated; transform/labels copies two attributes
    loki = collector["exporters"]["otlp_http/loki"]
    queue = loki["sending_queue"]
    assert queue["enabled"] is True and queue["storage"] in collector["service"]["extensions"]
    assert queue["storage"].split("/")[0] == "file_storage" and queue["batch"]
    assert collector["receivers"]["otlp_json_file/spool"]["include"] == ["/var/lib/otel-mon/metrics/*.jsonl"]
    gz = collector["receivers"]["otlp_json_file/spool_gz"]
    assert gz["include"] == ["/var/lib/otel-mon/metrics/*.jsonl.gz"] and gz["compression"] == "gzip"
    assert gz["storage"] in collector["service"]["extensions"]
    assert "resource" not in (collector.get("processors") or {}), "otel_mon.collector must not be overwritten"


def test_compose_mounts_and_services_resolve(compose: dict[str, Any], collector: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"agent", "collector", "collector-init", "prometheus", "alertmanager", "loki", "grafana"}
    declared_volumes = set(compose.get("volumes") or {})
    for name, service in services.items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith((".", "/")):
                if source != "/":
                    assert (COMPOSE / source).resolve().exists(), f"{name}: {source} does not exist"
            else:
                assert source in declared_volumes, f"{name}: volume {source} is not declared"
        for dependency in service.get("depends_on", []):
            assert dependency in services
    agent = services["agent"]
    assert "/:/hostfs:ro,rslave" in agent["volumes"]
    command = agent["command"]
    assert command[command.index("--root-path") + 1] == "/hostfs"
    spool_dir = command[command.index("--data-dir") + 1]
    assert (COMPOSE / agent["build"]["context"]).resolve() == ROOT
    assert (COMPOSE / agent["build"]["context"] / agent["build"]["dockerfile"]).resolve().exists()
    # The collector sees the agent's spool where its otlp_json_file receiver looks for it.
    spool_volume = next(v for v in agent["volumes"] if v.endswith(f":{spool_dir}"))
    collector_mounts = services["collector"]["volumes"]
    assert any(m.startswith(spool_volume.split(":")[0] + ":" + spool_dir) for m in collector_mounts)
    include = collector["receivers"]["otlp_json_file/spool"]["include"][0]
    assert include.startswith(spool_dir + "/metrics/")
    assert any("../collector-config/otelcol.yaml:" in m for m in collector_mounts)
    assert agent["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"].endswith(":4317")
    assert "127.0.0.1:4317:4317" in services["collector"]["ports"]


def test_dockerfile_copies_files_that_exist() -> None:
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source


def test_prometheus_loki_and_grafana_configs(compose: dict[str, Any], collector: dict[str, Any]) -> None:
    prometheus = _load(COMPOSE / "prometheus" / "prometheus.yml")
    assert prometheus["storage"]["tsdb"]["out_of_order_time_window"]
    assert "--web.enable-remote-write-receiver" in compose["services"]["prometheus"]["command"]
    assert collector["exporters"]["prometheus_remote_write"]["endpoint"] == "${env:PROMETHEUS_REMOTE_WRITE_URL}"
    assert compose["services"]["collector"]["environment"]["PROMETHEUS_REMOTE_WRITE_URL"] == \
        "http://prometheus:9090/api/v1/write"
    loki = _load(COMPOSE / "loki.yaml")
    assert loki["limits_config"]["allow_structured_metadata"] is True
    labels = loki["limits_config"]["otlp_config"]["resource_attributes"]["attributes_config"]
    assert any(rule["action"] == "index_label" and "host.name" in rule["attributes"] for rule in labels)
    assert all(c["schema"] == "v13" for c in loki["schema_config"]["configs"])
    datasources = _load(COMPOSE / "grafana" / "provisioning" / "datasources" / "datasources.yaml")["datasources"]
    by_uid = {d["uid"]: d for d in datasources}
    assert by_uid["prometheus"]["url"] == "http://prometheus:9090"
    assert by_uid["loki"]["url"] == "http://loki:3100"
    providers = _load(COMPOSE / "grafana" / "provisioning" / "dashboards" / "dashboards.yaml")["providers"]
    grafana_mount = next(m for m in compose["services"]["grafana"]["volumes"] if m.startswith("./grafana/"))
    container_root = grafana_mount.split(":")[1]
    assert providers[0]["options"]["path"] == f"{container_root}/dashboards"


# ------------------------------------------------------------------------------------------------ dashboard

_PROMQL_WORDS = {
    "sum", "avg", "min", "max", "count", "rate", "irate", "increase", "by", "without", "on", "ignoring",
    "group_left", "group_right", "scalar", "topk", "bottomk", "label_values", "and", "or", "unless", "offset",
    "histogram_quantile", "le",
}


def _promql_names(expr: str) -> tuple[set[str], set[str]]:
    """(metric names, label names) used by a PromQL expression."""
    labels: set[str] = set()
    text = re.sub(r'"[^"]*"', '""', expr)
    for matchers in re.findall(r"\{([^}]*)\}", text):
        labels.update(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)", matchers))
    for grouping in re.findall(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", text):
        labels.update(name.strip() for name in grouping.split(",") if name.strip())
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = {w for w in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", text) if w not in _PROMQL_WORDS}
    return names, labels


def _targets(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    return [(panel["datasource"]["type"], target["expr"]) for panel in dashboard["panels"]
            for target in panel.get("targets", [])]


def test_dashboard_queries_metrics_that_exist() -> None:
    from otel_mon.docgen import prometheus_name

    dashboard = json.loads(DASHBOARD.read_text())
    known = {collector_prometheus_name(spec): spec for spec in METRICS}
    agent_names = {prometheus_name(spec) for spec in METRICS}
    resource_labels = {"host_name", "service_name", "service_instance_id", "job", "instance", "os_type", "host_arch",
                       "le"}
    used: set[str] = set()
    first = next(v["definition"] for v in dashboard["templating"]["list"] if v["type"] == "query")
    variable = re.fullmatch(r"label_values\((\w+)(?:\{[^}]*\})?, (\w+)\)", first)
    assert variable is not None
    for datasource, expr in [*_targets(dashboard), ("prometheus", f"sum by ({variable[2]}) ({variable[1]})")]:
        if datasource != "prometheus":
            continue
        names, labels = _promql_names(expr)
        assert names, expr
        names = {n if n in known else re.sub(r"_(bucket|count|sum)$", "", n) for n in names}  # histograms
        for name in names:
            assert name in known, f"{name} (in {expr}) is not a Prometheus name of any metric in the table"
            assert name in agent_names, f"{name} differs between the agent's /metrics and the collector"
        allowed = resource_labels | {a.replace(".", "_") for n in names
                                     for a in (*known[n].attributes, *known[n].optional_attributes)}
        assert labels <= allowed, f"unknown labels {labels - allowed} in {expr}"
        used |= names
    assert {"system_cpu_time_seconds_total", "system_memory_usage_bytes", "system_filesystem_usage_bytes",
            "system_network_io_bytes_total", "system_cpu_load_average_1m"} <= used
    logs = [expr for datasource, expr in _targets(dashboard) if datasource == "loki"]
    assert logs and all("host_name" in expr and "service_name" in expr for expr in logs)


def test_collector_translation_examples() -> None:
    from otel_mon.host.table import BY_NAME

    assert collector_prometheus_name(BY_NAME["system.cpu.time"]) == "system_cpu_time_seconds_total"
    assert collector_prometheus_name(BY_NAME["system.memory.usage"]) == "system_memory_usage_bytes"
    assert collector_prometheus_name(BY_NAME["system.cpu.utilization"]) == "system_cpu_utilization_ratio"
    assert collector_prometheus_name(BY_NAME["system.cpu.load_average.1m"]) == "system_cpu_load_average_1m"
    assert collector_prometheus_name(BY_NAME["otel_mon.forward.sent"]) == "otel_mon_forward_sent_total"
