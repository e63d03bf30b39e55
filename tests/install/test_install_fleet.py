"""deploy/kubernetes/fleet-gateway.yaml: the two Collector tiers validate against the Kubernetes API schemas
(offline, kubernetes-validate) and run exactly the configs that tests/fleet and `make fleet` run."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.conftest import ROOT

MANIFEST = ROOT / "deploy" / "kubernetes" / "fleet-gateway.yaml"
CONFIGS = ROOT / "collector-config" / "fleet"


def _docs() -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(MANIFEST.read_text()) if d}


@pytest.mark.parametrize("version", ["1.30", "1.37"])
def test_fleet_manifests_validate_against_the_kubernetes_schemas(version: str) -> None:
    docs = _docs()
    assert {kind for kind, _ in docs} == {"ConfigMap", "Deployment", "Service", "StatefulSet"}
    for doc in docs.values():
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_configmap_holds_the_harness_configs_byte_for_byte() -> None:
    data = _docs()[("ConfigMap", "otel-mon-fleet")]["data"]
    assert set(data) == {p.name for p in CONFIGS.glob("*.yaml")}
    for name, text in data.items():
        assert text == (CONFIGS / name).read_text(), f"{name} differs from collector-config/fleet/{name}"


def _container(kind: str, name: str) -> dict[str, Any]:
    (container,) = _docs()[(kind, name)]["spec"]["template"]["spec"]["containers"]
    return container


def test_load_balancers_find_the_backends_through_the_headless_service() -> None:
    lb = _container("Deployment", "otel-mon-lb")
    assert lb["args"] == ["--config=/etc/otelcol/lb.yaml", "--config=/etc/otelcol/resolver-dns.yaml"]
    env = {e["name"]: e.get("value") for e in lb["env"]}
    headless = _docs()[("Service", "otel-mon-backend")]["spec"]
    assert headless["clusterIP"] == "None"
    assert env["BACKENDS_DNS_NAME"].startswith("otel-mon-backend.")
    backend_set = _docs()[("StatefulSet", "otel-mon-backend")]["spec"]
    assert backend_set["serviceName"] == "otel-mon-backend"
    assert headless["selector"] == backend_set["selector"]["matchLabels"]
    resolver = yaml.safe_load((CONFIGS / "resolver-dns.yaml").read_text())["exporters"]
    assert {r["resolver"]["dns"]["port"] for r in resolver.values()} == {
        str(p["port"]) for p in headless["ports"] if p["name"] == "otlp-grpc"}
    assert _docs()[("Deployment", "otel-mon-lb")]["spec"]["replicas"] >= 2


def test_backends_keep_their_log_queue_on_a_persistent_volume() -> None:
    backend = _container("StatefulSet", "otel-mon-backend")
    env = {e["name"]: e.get("value") for e in backend["env"]}
    mounts = {m["name"]: m["mountPath"] for m in backend["volumeMounts"]}
    templates = _docs()[("StatefulSet", "otel-mon-backend")]["spec"]["volumeClaimTemplates"]
    claims = {c["metadata"]["name"] for c in templates}
    assert "queue" in claims and mounts["queue"] == env["QUEUE_DIR"]
    config = yaml.safe_load((CONFIGS / "backend.yaml").read_text())
    assert config["exporters"]["otlp_http/logs"]["sending_queue"]["storage"] == "file_storage/queue"
    assert config["extensions"]["file_storage/queue"]["directory"] == "${env:QUEUE_DIR}"
    for container in (backend, _container("Deployment", "otel-mon-lb")):
        assert container["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert "memory" in container["resources"]["limits"]


def test_every_env_reference_of_the_configs_is_set_in_its_pod() -> None:
    import re

    for kind, name, files in (("Deployment", "otel-mon-lb", ("lb.yaml", "resolver-dns.yaml")),
                              ("StatefulSet", "otel-mon-backend", ("backend.yaml",))):
        env = {e["name"] for e in _container(kind, name)["env"]}
        wanted = {m for f in files for m in re.findall(r"\$\{env:([A-Z_]+)\}", (CONFIGS / f).read_text())}
        assert wanted <= env, (name, wanted - env)
