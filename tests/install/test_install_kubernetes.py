"""deploy/kubernetes: the manifests validate against the Kubernetes API schemas (shipped inside the
kubernetes-validate package, so offline) and run the agent in host mode with what the README promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.conftest import ROOT

MANIFEST = ROOT / "deploy" / "kubernetes" / "daemonset.yaml"


def _docs() -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(MANIFEST.read_text(encoding="utf-8")) if doc}


@pytest.mark.parametrize("version", ["1.30", "1.37"])
def test_manifests_validate_against_the_kubernetes_schemas(version: str) -> None:
    docs = _docs()
    assert set(docs) == {"ConfigMap", "DaemonSet", "Service"}
    for doc in docs.values():
        kubernetes_validate.validate(doc, version, strict=True)  # strict: unknown fields are errors


def test_daemonset_runs_in_host_mode_with_limits_spool_and_liveness() -> None:
    spec = _docs()["DaemonSet"]["spec"]["template"]["spec"]
    assert spec["hostPID"] is True and spec["hostNetwork"] is True
    (agent,) = spec["containers"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m for m in agent["volumeMounts"]}
    assert volumes[mounts["/hostfs"]["name"]]["hostPath"]["path"] == "/" and mounts["/hostfs"]["readOnly"] is True
    spool = volumes[mounts["/var/lib/otel-mon"]["name"]]["hostPath"]["path"]
    assert spool.startswith("/var/lib/")
    assert volumes[mounts["/etc/otel-mon"]["name"]]["configMap"]["name"] == _docs()["ConfigMap"]["metadata"]["name"]
    assert agent["livenessProbe"]["httpGet"]["path"] == "/ready"
    assert {"cpu", "memory"} <= set(agent["resources"]["requests"]) and "memory" in agent["resources"]["limits"]
    assert agent["securityContext"]["runAsNonRoot"] is True
    assert agent["securityContext"]["readOnlyRootFilesystem"] is True
    service = _docs()["Service"]["spec"]
    assert service["selector"] == _docs()["DaemonSet"]["spec"]["selector"]["matchLabels"]


def test_pod_arguments_and_configmap_pass_check_config(tmp_path: Path) -> None:
    """The container's args, with the ConfigMap's config.yaml, are a valid configuration for the agent."""
    (agent,) = _docs()["DaemonSet"]["spec"]["template"]["spec"]["containers"]
    config = tmp_path / "config.yaml"
    config.write_text(_docs()["ConfigMap"]["data"]["config.yaml"], encoding="utf-8")
    args = [a.replace("/etc/otel-mon/config.yaml", str(config)).replace("$(NODE_IP)", "127.0.0.1")
            for a in agent["args"]]
    assert args[0] == "run"
    out = subprocess.run([sys.executable, "-m", "otel_mon", "check-config", *args[1:]], capture_output=True,
                         text=True, timeout=60, cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
