"""Every row of the metric table held to OpenTelemetry semantic conventions v1.44.

Names, units and instrument kinds come from ``opentelemetry-semantic-conventions`` (its incubating
``create_*`` helpers, called on a recording meter); attribute values from its enums; attribute keys per metric
from the v1.44 model YAML (``tests/fixtures/semconv/``: the Python package does not carry them). A departure
passes only when ``semconv.EXCEPTIONS`` names it, with a reason.
"""

from __future__ import annotations

import inspect
import json
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.semconv._incubating.attributes import (
    cpu_attributes,
    disk_attributes,
    network_attributes,
    process_attributes,
    system_attributes,
)
from opentelemetry.semconv._incubating.metrics import hw_metrics, process_metrics, system_metrics
from opentelemetry.semconv.schemas import Schemas

from otel_mon.host.table import BY_NAME, METRICS
from otel_mon.metric_spec import MetricSpec
from otel_mon.semconv import EXCEPTIONS, SEMCONV_VERSION

MODEL = json.loads((Path(__file__).parent / "fixtures" / "semconv" / "v1.44.0-metric-attributes.json").read_text())[
    "metrics"]

# Enumerated attribute keys -> the package's enum (deprecated members are dropped below).
ENUMS: dict[str, type[Enum]] = {
    "cpu.mode": cpu_attributes.CpuModeValues,
    "system.memory.state": system_attributes.SystemMemoryStateValues,
    "system.memory.linux.slab.state": system_attributes.SystemMemoryLinuxSlabStateValues,
    "system.memory.linux.hugepages.state": system_attributes.SystemMemoryLinuxHugepagesStateValues,
    "system.paging.state": system_attributes.SystemPagingStateValues,
    "system.paging.fault.type": system_attributes.SystemPagingFaultTypeValues,
    "system.paging.direction": system_attributes.SystemPagingDirectionValues,
    "system.filesystem.state": system_attributes.SystemFilesystemStateValues,
    "system.filesystem.type": system_attributes.SystemFilesystemTypeValues,
    "disk.io.direction": disk_attributes.DiskIoDirectionValues,
    "network.io.direction": network_attributes.NetworkIoDirectionValues,
    "network.transport": network_attributes.NetworkTransportValues,
    "network.connection.state": network_attributes.NetworkConnectionStateValues,
    "process.state": process_attributes.ProcessStateValues,
    "process.context_switch.type": process_attributes.ProcessContextSwitchTypeValues,
}
DEPRECATED_VALUES = {("system.memory.state", "shared")}  # "Removed, report ... system.memory.linux.shared"


class RecordingMeter:
    """Stands in for a Meter: records (kind, unit) of what a semconv ``create_*`` helper creates."""

    def __init__(self) -> None:
        self.created: dict[str, tuple[str, str]] = {}

    def _record(self, kind: str) -> Any:
        def create(name: str, unit: str = "", description: str = "", **_: Any) -> None:
            self.created[name] = (kind, unit)

        return create

    def __getattr__(self, attr: str) -> Any:
        kinds = {"create_counter": "counter", "create_observable_counter": "counter",
                 "create_up_down_counter": "updowncounter", "create_observable_up_down_counter": "updowncounter",
                 "create_gauge": "gauge", "create_observable_gauge": "gauge", "create_histogram": "histogram"}
        if attr not in kinds:
            raise AttributeError(attr)
        return self._record(kinds[attr])


def package_metrics() -> dict[str, tuple[str, str]]:
    meter = RecordingMeter()
    for module in (system_metrics, process_metrics, hw_metrics):
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("create_"):
                params = inspect.signature(fn).parameters
                fn(meter, None) if "callbacks" in params else fn(meter)
    return meter.created


PACKAGE = package_metrics()
SEMCONV_ROWS = [m for m in METRICS if not m.name.startswith("otel_mon.")]


def enum_values(key: str) -> set[str]:
    return {str(v.value) for v in ENUMS[key]} - {v for k, v in DEPRECATED_VALUES if k == key}


def test_the_package_is_the_version_we_claim() -> None:
    assert Schemas.V1_44_0.value.endswith(SEMCONV_VERSION)
    assert SEMCONV_VERSION == "1.44.0"
    # The model extract and the package agree on every metric both describe (a guard on the fixture itself).
    for name, row in MODEL.items():
        assert PACKAGE[name] == (row["instrument"], row["unit"]), name


@pytest.mark.parametrize("spec", SEMCONV_ROWS, ids=lambda s: s.name)
def test_name_unit_and_instrument_match_semconv(spec: MetricSpec) -> None:
    if spec.name in EXCEPTIONS:
        assert spec.name not in PACKAGE, f"{spec.name} is in semconv now: drop its exception"
        return
    assert spec.name in MODEL, f"{spec.name}: not a semconv v1.44 metric and not in semconv.EXCEPTIONS"
    assert (spec.instrument, spec.unit) == PACKAGE[spec.name], spec.name


@pytest.mark.parametrize("spec", [s for s in SEMCONV_ROWS if s.name in MODEL], ids=lambda s: s.name)
def test_attribute_keys_match_semconv(spec: MetricSpec) -> None:
    theirs = MODEL[spec.name]["attributes"]
    ours = set(spec.attributes) | set(spec.optional_attributes)
    ours -= {key for key in ours if key in EXCEPTIONS and key not in ENUMS}  # a listed key of our own
    assert ours <= set(theirs), f"{spec.name}: keys semconv does not define: {ours - set(theirs)}"
    required = {k for k, level in theirs.items() if level == "required"}
    assert required <= set(spec.attributes), f"{spec.name}: required keys missing: {required - set(spec.attributes)}"
    opt_in = {k for k, level in theirs.items() if level == "opt_in"}
    assert not opt_in & set(spec.attributes), f"{spec.name}: opt-in keys emitted by default"


@pytest.mark.parametrize("spec", METRICS, ids=lambda s: s.name)
def test_attribute_values_come_from_semconv_enums(spec: MetricSpec) -> None:
    for key in (*spec.attributes, *spec.optional_attributes):
        if key not in ENUMS or key in EXCEPTIONS:
            continue
        allowed = spec.allowed(key)
        assert allowed is not None, f"{spec.name}: {key} is an enum in semconv; declare its allowed values"
        unknown = set(allowed) - enum_values(key)
        assert not unknown, f"{spec.name}: {key} values not in semconv: {unknown}"
    for key, _values in spec.values:
        assert key in (*spec.attributes, *spec.optional_attributes), f"{spec.name}: values for undeclared {key}"


def test_exceptions_are_real_and_documented() -> None:
    from otel_mon.docgen import render

    doc = render()
    for name, reason in EXCEPTIONS.items():
        assert reason and f"`{name}`" in doc
        is_metric = name in BY_NAME
        is_enum_key = name in ENUMS
        own_key = any(name in (*m.attributes, *m.optional_attributes) and m.name in MODEL for m in METRICS)
        assert is_metric or is_enum_key or own_key, \
            f"exception {name} names neither a row, an enumerated key nor a key added to a semconv metric"
        if is_metric:
            assert name not in PACKAGE, f"{name} is a semconv metric now: follow it and drop the exception"


def test_agent_gauges_that_are_not_ratios_have_a_unit_other_than_1() -> None:
    """The Collector's Prometheus translation suffixes unit-1 gauges with _ratio: only real ratios may have it."""
    for spec in METRICS:
        if spec.unit == "1":
            assert spec.name.endswith("utilization"), spec.name
