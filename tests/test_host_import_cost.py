"""A host domain is cheap to import: ``python -X importtime -c 'import otel_mon.host.cpu'`` loads no OTel SDK,
protobuf or gRPC, and of ours only the spec types, the config vocabulary and the host base
(docs/architecture.md, "Layers"; issue 25's proof)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Which modules an import loads is the code's shape (the `shape` marker in pyproject.toml).
pytestmark = pytest.mark.shape
HEAVY = ("opentelemetry.sdk", "google.protobuf", "grpc")


def _imported(module: str) -> list[str]:
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, check=True,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    # "import time: self [us] | cumulative | imported package", one line per module loaded
    return [line.rsplit("|", 1)[1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")
            and "|" in line][1:]


def test_importing_a_host_domain_loads_no_sdk_protobuf_or_grpc() -> None:
    loaded = _imported("otel_mon.host.cpu")
    assert "otel_mon.host.cpu" in loaded  # the probe saw the import
    assert [m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY)] == []
    ours = sorted(m for m in loaded if m.startswith("otel_mon"))
    assert [m for m in ours if not m.startswith("otel_mon.host")] == [
        "otel_mon", "otel_mon.config_fields", "otel_mon.config_problems", "otel_mon.config_tree",
        "otel_mon.config_units", "otel_mon.instruments", "otel_mon.metric_spec", "otel_mon.readings",
        "otel_mon.schema", "otel_mon.urls"]
