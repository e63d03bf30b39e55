"""The ``OTEL_EXPORTER_OTLP_*`` variables (OpenTelemetry "OTLP Exporter Configuration") as a raw ``otlp`` section.

One variable per ``Transport`` field, for the section (``OTEL_EXPORTER_OTLP_<FIELD>``) and for each signal
(``OTEL_EXPORTER_OTLP_METRICS_<FIELD>``, ``..._LOGS_<FIELD>``); values are converted where the specification's
units differ (milliseconds), then coerced and checked by ``schema`` like any other source.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otel_mon import schema
from otel_mon.forward.config import TRANSPORT_FIELDS, Signal
from otel_mon.forward.config_checks import endpoint_problem
from otel_mon.schema import Problem, render

_ENV_PREFIXES: tuple[tuple[str, Signal | None], ...] = (
    ("OTEL_EXPORTER_OTLP_", None),
    ("OTEL_EXPORTER_OTLP_METRICS_", "metrics"),
    ("OTEL_EXPORTER_OTLP_LOGS_", "logs"),
)


def otlp_from_env(env: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Translate the standard variables into a raw ``otlp`` section (to merge under the key ``otlp``).

    Empty variables count as unset (the specification's rule). Problems are one line each, naming the
    variable; header values are never repeated, not even in an error.
    """
    out: dict[str, Any] = {}
    problems: list[str] = []
    for prefix, signal in _ENV_PREFIXES:
        section: dict[str, Any] = {}
        for suffix, value in _env_items(env, prefix):
            name = prefix + suffix
            problem = _translate(name, suffix, value, section)
            if problem:
                problems.append(problem)
        if signal is None:
            out.update(section)
        elif section:
            out[signal] = section
    return out, problems


def _env_items(env: Mapping[str, str], prefix: str) -> list[tuple[str, str]]:
    keys = [name.upper() for name in TRANSPORT_FIELDS]  # one variable per Transport field
    return [(key, env[prefix + key]) for key in keys if env.get(prefix + key, "").strip()]


def _translate(name: str, suffix: str, value: str, section: dict[str, Any]) -> str | None:
    problem = _translated(name, suffix, value.strip(), section)
    return None if problem is None else render(name, problem)


def _translated(name: str, suffix: str, raw: str, section: dict[str, Any]) -> Problem | None:
    if suffix == "ENDPOINT":
        problem = endpoint_problem(name, raw)
        if problem is None:
            section["endpoint"] = raw
        return problem
    if suffix == "PROTOCOL":
        if raw not in ("grpc", "http/protobuf", "http/json"):
            return Problem(name, "expected grpc, http/protobuf or http/json", raw)
        section["protocol"] = raw
        return None
    if suffix == "HEADERS":
        try:
            section["headers"] = schema.parse_key_values(raw)
        except ValueError:
            return Problem(name, "expected comma-separated key=value pairs", hidden=True)
        return None
    if suffix == "COMPRESSION":
        if raw.lower() not in ("none", "gzip"):
            return Problem(name, "expected gzip or none", raw)
        section["compression"] = raw.lower()
        return None
    if suffix == "TIMEOUT":
        try:
            millis = float(raw)
        except ValueError:
            millis = -1.0
        if millis <= 0:
            return Problem(name, "expected a positive number of milliseconds", raw)
        section["timeout"] = millis / 1000.0
        return None
    if suffix == "INSECURE":
        if raw.lower() not in ("true", "false"):
            return Problem(name, "expected true or false", raw)
        section["insecure"] = raw.lower() == "true"
        return None
    section[suffix.lower()] = raw  # a path (certificate, client_certificate, client_key)
    return None
