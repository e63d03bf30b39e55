"""The dashboard's Loki panels against how Loki 3.4 (the pinned image) stores OTLP logs, without a Loki here.

Loki's OTLP ingestion (docs "Ingesting logs to Loki using OpenTelemetry Collector", v3.x): a fixed list of
resource attributes become index labels (service.name -> service_name, service.namespace, service.instance.id,
deployment.environment, cloud.*, k8s.*, container.name), compose/loki.yaml adds host.name; every other attribute
is structured metadata with dots replaced by underscores; the LogRecord's event_name is dropped before Loki PR
#21229 (2026-03), so a panel must select events by an attribute, never by event name. Each LogQL string is held
to that: a stream selector over index labels only, with a non-empty matcher, then label filters over structured
metadata names the agent really emits."""

from __future__ import annotations

import json
import re

import yaml

from tests.conftest import ROOT
from tests.stack.stackkit import COMPOSE, DASHBOARD

DEFAULT_INDEX = {"service_name", "service_namespace", "service_instance_id", "deployment_environment",
                 "cloud_availability_zone", "cloud_region", "container_name", "k8s_cluster_name",
                 "k8s_container_name", "k8s_cronjob_name", "k8s_daemonset_name", "k8s_deployment_name",
                 "k8s_job_name", "k8s_namespace_name", "k8s_pod_name", "k8s_replicaset_name",
                 "k8s_statefulset_name"}
# Fields Loki stores from every OTLP LogRecord as structured metadata.
RECORD_FIELDS = {"severity_text", "severity_number", "trace_id", "span_id", "flags", "observed_timestamp"}


def _promoted() -> set[str]:
    config = yaml.safe_load((COMPOSE / "loki.yaml").read_text())
    out = set()
    for rule in config["limits_config"]["otlp_config"]["resource_attributes"]["attributes_config"]:
        if rule["action"] == "index_label":
            out |= {name.replace(".", "_") for name in rule["attributes"]}
    return out


def _agent_attribute_names() -> set[str]:
    """Every dotted attribute key written as a string literal in the agent's code, as Loki would name it."""
    names = set()
    for path in (ROOT / "otel_mon").rglob("*.py"):
        names |= {m.replace(".", "_") for m in re.findall(r'"([a-z_]+(?:\.[a-z_]+)+)"', path.read_text())}
    return names


def _loki_targets() -> list[tuple[str, str]]:
    out = []
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        for target in panel.get("targets", []):
            if (target.get("datasource") or panel.get("datasource") or {}).get("type") == "loki":
                out.append((panel["title"], target["expr"]))
    return out


def test_loki_panels_select_index_labels_and_filter_structured_metadata() -> None:
    index = DEFAULT_INDEX | _promoted()
    assert "host_name" in index, "compose/loki.yaml must promote host.name, or a host's logs cannot be selected"
    attributes = _agent_attribute_names() | RECORD_FIELDS
    targets = _loki_targets()
    assert {title for title, _ in targets} >= {"Agent logs", "Health transitions"}
    for title, expr in targets:
        match = re.fullmatch(r"\{([^}]*)\}(.*)", expr.strip())
        assert match, f"{title}: not a stream selector first: {expr}"
        matchers = re.findall(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"', match.group(1))
        assert matchers and {name for name, _, _ in matchers} <= index, f"{title}: {matchers} not all index labels"
        assert any(op == "=" and value for _, op, value in matchers), f"{title}: needs one non-empty = matcher"
        assert "." not in match.group(2).replace("$__", ""), f"{title}: dotted name (Loki stores underscores)"
        assert "event_name" not in expr, f"{title}: Loki 3.4 drops the LogRecord event_name"
        for name in re.findall(r"\|\s*(\w+)\s*(?:=~|!~|!=|=|>|<)", match.group(2)):
            assert name in attributes, f"{title}: {name} is not an attribute the agent emits"


def test_health_transition_panel_uses_the_transition_event_attributes() -> None:
    """The panel finds transitions by an attribute every transition record carries (as Loki names it)."""
    from otel_mon.health.monitor import transition_event
    from otel_mon.health.rules import State, Transition

    event = transition_event(Transition(rule="memory", instance="", reading="memory", old=State.OK,
                                        new=State.WARNING, value=91.0, threshold=90.0, at=0.0, why="test"))
    stored = {key.replace(".", "_") for key in event if key != "event.name"}  # event name: moved, then dropped
    expr = dict(_loki_targets())["Health transitions"]
    filtered = set(re.findall(r"\|\s*(\w+)\s*!=", expr))
    assert filtered and filtered <= stored, (filtered, stored)
