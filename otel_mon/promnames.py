"""The one OTel-to-Prometheus namer: metric names, unit suffixes, kinds and labels for /metrics and remote write.

Both paths name a metric here, so one dashboard and one rule file work on either. The rules are the
OpenTelemetry compatibility specification's, as opentelemetry-exporter-prometheus applies them (its output is
held equal in tests/http/test_exposition.py, Prometheus 3's OTLP translation in tests/stack): names and label
keys sanitised, the unit mapped to a suffix (``s`` -> ``seconds``, ``By`` -> ``bytes``, ``1`` -> none,
``{...}`` dropped, ``a/b`` -> ``a_per_b``), monotonic sums as counters (``_total``), cumulative non-monotonic
sums as gauges, ``otel_scope_*`` labels, empty scope version and schema URL left out (an empty label is no
label in Prometheus; its own OTLP translation leaves them out too).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

_NAME_INVALID = re.compile(r"[^a-zA-Z0-9:]+")
_LABEL_INVALID = re.compile(r"[^a-zA-Z0-9]+")
_ANNOTATION = re.compile(r"{.*}")
# UCUM / SI units and their Prometheus suffixes (the compatibility specification's table).
_UNITS = {
    "d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds", "us": "microseconds",
    "ns": "nanoseconds", "By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes",
    "TiBy": "tibibytes", "KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes", "TBy": "terabytes",
    "m": "meters", "V": "volts", "A": "amperes", "J": "joules", "W": "watts", "g": "grams", "Cel": "celsius",
    "Hz": "hertz", "1": "", "%": "percent",
}
_PER_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month", "y": "year"}

TARGET_INFO = "target_info"


def metric_name(name: str) -> str:
    if name and name[0].isdigit():
        name = "_" + name[1:]
    return _NAME_INVALID.sub("_", name)


def label_name(key: str) -> str:
    if key and key[0].isdigit():
        key = "_" + key[1:]
    return _LABEL_INVALID.sub("_", key)


def unit_suffix(unit: str) -> str:
    unit = _ANNOTATION.sub("", unit)
    if unit in _UNITS:
        return _UNITS[unit]
    top, slash, bottom = unit.partition("/")
    if slash:
        bottom = _NAME_INVALID.sub("_", bottom)
        if bottom:
            top = _NAME_INVALID.sub("_", top)
            top = _UNITS.get(top, top)
            bottom = _PER_UNITS.get(bottom, bottom)
            return f"{top}_per_{bottom}" if top else f"per_{bottom}"
    return _NAME_INVALID.sub("_", unit).strip("_")


def attribute_text(value: Any) -> str:
    """An attribute value as a label value (unescaped): strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, default=str)


@dataclass(frozen=True)
class Family:
    """How one OTel metric appears in Prometheus."""

    name: str  # the family name (a counter's without ``_total``)
    kind: str  # counter | gauge | histogram
    sample: str  # the sample name (``_total`` for counters; histograms add ``_bucket``/``_count``/``_sum``)
    unit: str  # the unit suffix, "" for none


def family(name: str, unit: str, data: str, monotonic: bool = False, cumulative: bool = True) -> Family | None:
    """The family of a metric of OTLP data kind ``data`` (sum, gauge, histogram); None for kinds without one."""
    if data == "sum":
        kind = "gauge" if not monotonic and cumulative else "counter"
    elif data in ("gauge", "histogram"):
        kind = data
    else:
        return None
    base = metric_name(name)
    suffix = unit_suffix(unit or "")
    if kind == "counter" and base.endswith("_total"):
        base = base[:-6]
    if suffix and not base.endswith("_" + suffix):
        base += "_" + suffix
    return Family(base, kind, base + "_total" if kind == "counter" else base, suffix)


def scope_labels(name: str | None, version: str | None, schema_url: str | None,
                 attributes: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The ``otel_scope_*`` labels of an instrumentation scope (label name, unescaped value)."""
    out = [(label_name("otel_scope_" + k), attribute_text(v)) for k, v in (attributes or {}).items()]
    out.append(("otel_scope_name", name or ""))
    if version:
        out.append(("otel_scope_version", version))
    if schema_url:
        out.append(("otel_scope_schema_url", schema_url))
    return out


def labels_of(attributes: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """Attributes as labels: names sanitised, values as text; a later key that sanitises alike wins."""
    return {label_name(k): attribute_text(v) for k, v in attributes}


def le_text(bound: Any) -> str:
    """A histogram bucket's ``le`` label on /metrics, as the exporter writes it (``10.0``; ``+Inf`` last)."""
    return f"{bound}"


def le_stored(bound: Any) -> str:
    """A bucket's ``le`` as Prometheus 3 stores it from OTLP (Go's ``FormatFloat(b, 'f', -1, 64)``: ``10``,
    ``0.005``, ``+Inf``): remote write sends what Prometheus would have made of the OTLP point. A scrape of
    /metrics is normalised by Prometheus itself (to ``10.0``); the two differ in Prometheus 3 too."""
    if isinstance(bound, str):
        return bound
    value = float(bound)
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text[:-2] if text.endswith(".0") else text
