"""Loki 3.7 and Grafana 13 cannot run here (no build of either in a registry this project uses; Loki is AGPL):
for these two only, the shipped configs' keys are held to lists taken from the pinned versions' documentation.
Every other component of the stack is judged by its real binary (test_stack_collector_real, test_stack_prometheus3,
test_stack_alerting). A key that is not in a list fails: check it in the doc named next to the list, then add it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import yaml

from tests.stack.stackkit import COMPOSE

# Loki 3.7 configuration reference, https://grafana.com/docs/loki/v3.7.x/configure/ (docs/sources/shared/
# configuration.md at tag v3.7.8), and for limits_config.otlp_config the OTLP ingestion page,
# https://raw.githubusercontent.com/grafana/loki/v3.7.8/docs/sources/send-data/otel/_index.md ("Example 1").
# A list item is written as [].
LOKI_KEYS = {
    "auth_enabled",
    "server", "server.http_listen_port",
    "common", "common.path_prefix", "common.replication_factor", "common.ring", "common.ring.kvstore",
    "common.ring.kvstore.store", "common.storage", "common.storage.filesystem",
    "common.storage.filesystem.chunks_directory", "common.storage.filesystem.rules_directory",
    "schema_config", "schema_config.configs", "schema_config.configs[].from", "schema_config.configs[].store",
    "schema_config.configs[].object_store", "schema_config.configs[].schema", "schema_config.configs[].index",
    "schema_config.configs[].index.prefix", "schema_config.configs[].index.period",
    "limits_config", "limits_config.allow_structured_metadata", "limits_config.otlp_config",
    "limits_config.otlp_config.resource_attributes", "limits_config.otlp_config.resource_attributes.attributes_config",
    "limits_config.otlp_config.resource_attributes.attributes_config[].action",
    "limits_config.otlp_config.resource_attributes.attributes_config[].attributes",
}
# Values with a closed set in the same reference.
LOKI_VALUES = {
    "common.ring.kvstore.store": {"consul", "etcd", "inmemory", "memberlist", "multi"},
    "schema_config.configs[].store": {"tsdb"},  # boltdb-shipper is deprecated in 3.x
    "schema_config.configs[].schema": {"v13"},  # structured metadata (OTLP attributes) needs v13
    "limits_config.otlp_config.resource_attributes.attributes_config[].action": {
        "index_label", "structured_metadata", "drop"},
}

# Grafana 13 provisioning, https://grafana.com/docs/grafana/v13.3/administration/provisioning/ ("Data sources",
# "Dashboards"); jsonData.timeInterval is the Prometheus data source's "Scrape interval",
# https://grafana.com/docs/grafana/v13.3/datasources/prometheus/configure/ (provisioning example).
GRAFANA_KEYS = {
    "datasources.yaml": {
        "apiVersion", "datasources", "datasources[].name", "datasources[].uid", "datasources[].type",
        "datasources[].access", "datasources[].url", "datasources[].isDefault", "datasources[].jsonData",
        "datasources[].jsonData.timeInterval",
    },
    "dashboards.yaml": {
        "apiVersion", "providers", "providers[].name", "providers[].folder", "providers[].type",
        "providers[].disableDeletion", "providers[].allowUiUpdates", "providers[].options",
        "providers[].options.path", "providers[].options.foldersFromFilesStructure",
    },
}
GRAFANA_DATASOURCE_TYPES = {"prometheus", "loki"}  # core data source plugin ids
# Grafana's environment: GF_<SECTION>_<KEY> for any grafana.ini setting, and <VAR>__FILE to read it from a file
# (https://grafana.com/docs/grafana/v13.3/setup-grafana/configure-grafana/#override-configuration-with-environment-variables);
# the settings used, from the same page: [auth.anonymous] enabled, org_role; [security] admin_password.
GRAFANA_ENV = {"GF_AUTH_ANONYMOUS_ENABLED", "GF_AUTH_ANONYMOUS_ORG_ROLE", "GF_SECURITY_ADMIN_PASSWORD__FILE"}


def _paths(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            yield path, value
            yield from _paths(value, path)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, (dict, list)):
                yield from _paths(item, prefix + "[]")


def test_loki_config_uses_only_keys_and_values_loki_3_7_documents() -> None:
    doc = yaml.safe_load((COMPOSE / "loki.yaml").read_text())
    found = dict(_paths(doc))
    assert set(found) <= LOKI_KEYS, sorted(set(found) - LOKI_KEYS)
    for path, allowed in LOKI_VALUES.items():
        values = [v for p, v in _paths(doc) if p == path]
        assert values and all(v in allowed for v in values), (path, values)
    # host.name is indexed, as the dashboard's LogQL selects by host_name
    labels = doc["limits_config"]["otlp_config"]["resource_attributes"]["attributes_config"]
    assert any(r["action"] == "index_label" and "host.name" in r["attributes"] for r in labels)
    compose = yaml.safe_load((COMPOSE / "docker-compose.yaml").read_text())["services"]["loki"]
    assert compose["image"].startswith("grafana/loki:3.7.")
    assert compose["command"] == ["-config.file=/etc/loki/loki.yaml"]


def test_grafana_provisioning_uses_only_keys_grafana_13_documents() -> None:
    root = COMPOSE / "grafana" / "provisioning"
    for name, allowed in GRAFANA_KEYS.items():
        path = next(root.rglob(name))
        doc = yaml.safe_load(path.read_text())
        assert doc["apiVersion"] == 1
        keys = {p for p, _ in _paths(doc)}
        assert keys <= allowed, (name, sorted(keys - allowed))
    datasources = yaml.safe_load(next(root.rglob("datasources.yaml")).read_text())["datasources"]
    assert {d["type"] for d in datasources} == GRAFANA_DATASOURCE_TYPES
    assert all(d["access"] == "proxy" for d in datasources)
    compose = yaml.safe_load((COMPOSE / "docker-compose.yaml").read_text())["services"]["grafana"]
    assert compose["image"].startswith("grafana/grafana:13.")
    assert set(compose["environment"]) == GRAFANA_ENV
    dashboard = json.loads((root / "dashboards" / "otel-mon.json").read_text())
    assert dashboard["panels"] and dashboard["uid"]
