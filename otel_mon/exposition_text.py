"""How numbers, label values and help texts are written in the Prometheus text formats (0.0.4, OpenMetrics).

One place for the escaping and number rules, shared by ``/metrics`` (``exposition.py``) and
``/metrics/node_exporter`` (``compat/node_exporter.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from prometheus_client import utils as _prom_utils

from otel_mon.promnames import attribute_text

# prometheus_client's float formatting (Go's, as Prometheus prints numbers), typed.
go_float = cast(Callable[[float], str], _prom_utils.floatToGoString)
_INF = float("inf")


def sample_value(value: float) -> str:
    """A sample's value as node_exporter prints it: the shortest text that reads back as the number, after
    rounding to 15 significant digits (all a double holds exactly), so a sum like 309.9 + 0.01 reads 309.91
    and not 309.90999999999997. Go's exponent rules (prometheus_client's ``floatToGoString``)."""
    if value != value or value in (_INF, -_INF):
        return go_float(value)
    rounded = float(f"{value:.15g}")
    return go_float(rounded if rounded not in (_INF, -_INF) else value)  # the largest doubles round up to inf


def label_value(value: Any) -> str:
    """A label value as text, escaped for the exposition formats."""
    return attribute_text(value).replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def help_text(doc: str, openmetrics: bool) -> str:
    doc = doc.replace("\\", r"\\").replace("\n", r"\n")
    return doc.replace('"', r"\"") if openmetrics else doc


def braces(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
