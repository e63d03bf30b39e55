"""The smallest setup, no Collector: the agent on examples/prometheus-otlp.yaml straight into Prometheus 3's OTLP
receiver. Prometheus is stopped (SIGTERM) for 30 s and started again on the same port and TSDB; the agent's spool
holds what it collects meanwhile, and afterwards every collection is in Prometheus at its original timestamp,
with host_name a label (the example's promote_resource_attributes)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.e2ekit import Pipeline
from tests.e2e.test_e2e_faults import assert_all_at_their_timestamps, gap
from tests.fleet.fleetkit import PROBE_PROMQL

pytestmark = pytest.mark.integration

OUTAGE = 30.0  # shorter than the Collector tests' 60 s: the agent's own retry is the only one on this path


def test_agent_straight_into_prometheus_otlp_backlog_lands_at_its_timestamps(tmp_path: Path) -> None:
    p = Pipeline(tmp_path / "direct", "direct")
    try:
        p.start()
        p.wait_collections(5)
        p.prometheus.stop()
        fell_behind = gap(OUTAGE, p)
        assert fell_behind >= 15, "nothing waited while Prometheus was down"
        p.prometheus.start()
        p.prometheus.wait_ready()
        assert_all_at_their_timestamps(p, p.settle(), at_least=30)
        labels = p.prometheus.query_at(PROBE_PROMQL, time.time())[0]["metric"]
        assert labels.get("host_name") == "e2e-host", labels
        assert labels.get("job") == "otel-mon", labels
    finally:
        p.stop()
