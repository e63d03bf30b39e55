"""The shipped Collector configs against the real binary they are written for (`make stack-bin`'s
otelcol-otel-mon, built from collector-config/builder-config.yaml): `validate` accepts each, the Collector
starts on each and reports healthy, and its log holds no warning (a deprecated component name or key warns)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, free_port, stack_binary, stop_process, wait_until
from tests.stack.stackkit import http_get

CONFIGS = ROOT / "collector-config"
# Nothing listens here: exporters only connect once data flows, and the test sends none.
ENV = {"PROMETHEUS_REMOTE_WRITE_URL": "http://127.0.0.1:9/api/v1/write", "LOKI_OTLP_URL": "http://127.0.0.1:9/otlp",
       "GATEWAY_DNS_NAME": "localhost"}


class Collector:
    """otelcol-otel-mon on a shipped config, every listener on a free loopback port and every directory under
    tmp via `--set` (the file itself runs as shipped); `gateways` is the gRPC port its load balancer targets."""

    def __init__(self, name: str, tmp: Path, gateways: int | None = None, env: dict[str, str] | None = None) -> None:
        self.binary = stack_binary("otelcol-otel-mon")
        self.path = CONFIGS / name
        self.env = {**os.environ, **ENV, **(env or {})}
        config = yaml.safe_load(self.path.read_text())
        tmp.mkdir(parents=True, exist_ok=True)
        self.health, self.grpc = free_port(), free_port()
        sets = [f"--set=extensions::health_check::endpoint=127.0.0.1:{self.health}",
                f"--set=receivers::otlp::protocols::grpc::endpoint=127.0.0.1:{self.grpc}",
                f"--set=receivers::otlp::protocols::http::endpoint=127.0.0.1:{free_port()}",
                # Its own telemetry's default :8888 would collide between parallel Collectors.
                "--set=service::telemetry::metrics::level=none"]
        for ext_name, ext in config["extensions"].items():
            if ext_name.startswith("file_storage"):
                directory = tmp / ext_name.replace("/", "-")
                sets.append(f"--set=extensions::{ext_name}::directory={directory}")
                if "compaction" in ext:
                    sets.append(f"--set=extensions::{ext_name}::compaction::directory={directory}")
        for exp_name, exp in config["exporters"].items():
            if "resolver" in exp:
                assert gateways is not None, f"{name} load-balances: give it a gateway"
                sets.append(f'--set=exporters::{exp_name}::resolver::dns::port="{gateways}"')
            if "wal" in exp:
                sets.append(f"--set=exporters::{exp_name}::wal::directory={tmp / 'wal'}")
        for rec_name, rec in config["receivers"].items():
            if "include" in rec:
                sets.append(f"--set=receivers::{rec_name}::include=[{tmp / 'spool' / Path(rec['include'][0]).name}]")
        self.log_path = tmp / "otelcol.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([self.binary, f"--config={self.path}", *sets], stdout=log,
                                         stderr=subprocess.STDOUT, env=self.env)
        wait_until(self.healthy, 90, interval=0.2, what=f"{name}: health_check 200")

    def healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"otelcol exited with {self.proc.returncode}: {self.log_path.read_text()[-3000:]}")
        return http_get(f"http://127.0.0.1:{self.health}/", 2)[0] == 200

    def complaints(self) -> list[str]:
        return [line for line in self.log_path.read_text().splitlines() if re.search(r"\t(warn|error)\t", line)]

    def stop(self) -> None:
        stop_process(self.proc)


@pytest.mark.parametrize("name", ["otelcol.yaml", "gateway.yaml"])
def test_collector_validates_starts_healthy_and_warns_about_nothing(name: str, tmp_path: Path) -> None:
    checked = subprocess.run([stack_binary("otelcol-otel-mon"), "validate", f"--config={CONFIGS / name}"],
                             capture_output=True, text=True, timeout=120, env={**os.environ, **ENV})
    assert checked.returncode == 0, checked.stderr
    started: list[Collector] = []
    try:
        if name == "gateway.yaml":  # the tier behind it: a Collector on otelcol.yaml
            started.append(Collector("otelcol.yaml", tmp_path / "gateway-backend"))
        started.append(Collector(name, tmp_path / "under-test",
                                 gateways=started[0].grpc if started else None))
        # Read the logs while they still run: shutdown messages are not the configs' business.
        complaints = [line for c in started for line in c.complaints()]
        ready = [("Everything is ready" in c.log_path.read_text()) for c in started]
    finally:
        for collector in reversed(started):
            collector.stop()
    assert all(ready)
    assert complaints == [], "\n".join(complaints)


def test_builder_manifest_lists_exactly_the_component_types_the_configs_use() -> None:
    """Every component type a shipped config names is in the distribution, and the distribution carries
    nothing the configs do not use (the Collector's own `components` command is the judge of the types)."""
    out = subprocess.run([stack_binary("otelcol-otel-mon"), "components"], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    built = yaml.safe_load(out)
    available = {kind: {c["name"] for c in built.get(kind) or []}
                 for kind in ("receivers", "processors", "exporters", "extensions")}
    used: dict[str, set[str]] = {kind: set() for kind in available}
    for file in ("otelcol.yaml", "gateway.yaml"):
        config = yaml.safe_load((CONFIGS / file).read_text())
        for kind in used:
            used[kind] |= {cid.split("/")[0] for cid in config.get(kind) or {}}
    # otlp_grpc is what load_balancing sends with (its `protocol.otlp` block), not a configured component.
    used["exporters"].add("otlp_grpc")
    assert used == available
