"""One namer, held to Prometheus 3's own OTLP translation of the same batch (a real Prometheus 3, built by
`make stack-bin`): the series names and label sets remote write sends equal those Prometheus stores when it
receives the batch over OTLP, byte for byte, apart from the deliberate differences listed (and explained in
README "Metric names"). The batch goes in as OTLP protobuf written by ``forward/otlp_wire.py`` and as
OTLP/JSON (the line's own text): Prometheus must store the same series from both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from opentelemetry.exporter.otlp.json.common.metrics_encoder import encode_metrics

from otel_mon.forward.otlp_wire import encode_metrics as wire_metrics
from otel_mon.forward.requests import frame_json, parse_json_line
from otel_mon.forward.rw_series import series_of_line
from otel_mon.promnames import TARGET_INFO
from tests.conftest import wait_until
from tests.stack.stackkit import COMPOSE, Prometheus
from tests.stack.test_stack_rw_units import _collect

# The shipped `otlp:` block (compose/prometheus/prometheus.yml): promote_resource_attributes makes host.name and
# service.name labels of every series, as /metrics does.
SHIPPED_OTLP = yaml.safe_load((COMPOSE / "prometheus" / "prometheus.yml").read_text())["otlp"]
CONFIG = {"otlp": SHIPPED_OTLP, "storage": {"tsdb": {"out_of_order_time_window": "30m"}}}
# Unit "1" gauges: Prometheus adds _ratio; opentelemetry-exporter-prometheus (and so /metrics) does not.
RATIO = {"system_memory_utilization"}


class Prometheus3(Prometheus):
    """The pinned Prometheus 3 with its OTLP receiver on."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, CONFIG, flags=("--web.enable-otlp-receiver",))

    def series(self) -> set[tuple[tuple[str, str], ...]]:
        data: list[dict[str, str]] = self.api("/api/v1/series", **{"match[]": '{__name__=~".+"}'})
        return {tuple(sorted(s.items())) for s in data}


def _ours(line: dict[str, Any]) -> set[tuple[tuple[str, str], ...]]:
    """Remote write's label sets with the deliberate differences turned into Prometheus's choices."""
    out = set()
    resource = {a["key"]: a["value"].get("stringValue", "") for a in line["resourceMetrics"][0]["resource"][
        "attributes"]}
    for labels, _value, _ts in series_of_line(line):
        as_dict = dict(labels)
        # instance: ours is the host name; Prometheus takes service.instance.id (a UUID on a real agent).
        assert as_dict["instance"] == resource["host.name"]
        as_dict["instance"] = resource["service.instance.id"]
        if as_dict["__name__"] in RATIO:
            as_dict["__name__"] += "_ratio"
        if as_dict["__name__"] == TARGET_INFO:
            # target_info keeps service.instance.id (no longer the instance label) and service.name (as
            # /metrics' target_info does); Prometheus drops the identifying attributes it turned into job and
            # instance.
            assert as_dict.pop("service_instance_id") == resource["service.instance.id"]
            assert as_dict.pop("service_name") == resource["service.name"]
        out.add(tuple(sorted(as_dict.items())))
    return out


def _batch() -> dict[str, Any]:
    line: dict[str, Any] = json.loads(json.dumps(encode_metrics(_collect()).to_dict()))
    return line


def test_remote_write_names_and_labels_are_prometheus3s_own_otlp_translation(tmp_path: Path) -> None:
    line = _batch()
    prometheus = Prometheus3(tmp_path / "p3")
    prometheus.start()
    try:
        assert prometheus.otlp(wire_metrics(line)[0], "application/x-protobuf") == 200
        theirs = wait_until(lambda: prometheus.series() if len(prometheus.series()) >= len(_ours(line)) else None,
                            30, what="the OTLP batch's series in Prometheus")
        ours = _ours(line)
        assert ours == theirs, (sorted(ours - theirs), sorted(theirs - ours))
        names = {dict(s)["__name__"] for s in theirs}
        assert {"system_cpu_time_seconds_total", "system_memory_usage_bytes", "otel_mon_collector_success",
                "otel_mon_probe_duration_seconds_bucket", "system_cpu_frequency_hertz", TARGET_INFO} <= names
    finally:
        prometheus.stop()


def test_prometheus3_stores_the_same_series_from_the_lines_json(tmp_path: Path) -> None:
    # The http/json path: the spool line's own text, framed as one request, is what Prometheus 3 reads too.
    line = _batch()
    record = parse_json_line("metrics", json.dumps(line, separators=(",", ":")).encode())
    prometheus = Prometheus3(tmp_path / "p3json")
    prometheus.start()
    try:
        assert prometheus.otlp(frame_json("metrics", [record.payload]), "application/json") == 200
        theirs = wait_until(lambda: prometheus.series() if len(prometheus.series()) >= len(_ours(line)) else None,
                            30, what="the JSON batch's series in Prometheus")
        assert _ours(line) == theirs
    finally:
        prometheus.stop()

