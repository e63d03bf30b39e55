"""The agent's settings: built-in defaults < YAML file < environment < command-line flags.

This module only assembles. Each component declares its own section (a frozen dataclass next to the
component: ``http/config.py``, ``spool/config.py``...) and ``Settings`` lists them, one field each (the YAML
key); the host domains' sections arrive assembled from the domains' own registrations (``host/config.py``).
``schema.build`` coerces and validates every section and renders the one-line problems. Components receive
their own section, never ``Settings``. After validation, :func:`resolve` is the one step that looks at the
host: TLS files readable, webhook secrets read (once), action programs found. See docs/architecture.md,
"Adding a config section".

Environment: the OpenTelemetry standard variables we honour (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_METRIC_EXPORT_INTERVAL``, and the ``OTEL_EXPORTER_OTLP_*`` family) plus ``OTEL_MON_<KEY>`` for any of
our keys, with ``__`` between sections (``OTEL_MON_HTTP__PORT=9100``). Secrets may also come from
``<KEY>_FILE`` variables.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_origin

from otel_mon import schema
from otel_mon.compat.config import CompatConfig
from otel_mon.config_file import load_file
from otel_mon.forward.config import OtlpConfig
from otel_mon.forward.otlp_env import otlp_from_env
from otel_mon.forward.rw_config import RemoteWriteConfig
from otel_mon.health.config import HealthConfig
from otel_mon.health.config import validate as validate_health
from otel_mon.health.secrets import Credentials, resolve_notifiers
from otel_mon.host.config import HOST_CONFIG, HostConfig
from otel_mon.host.filters import Filter
from otel_mon.host.table import HOST_DOMAINS, MetricsConfig
from otel_mon.http.config import HttpConfig
from otel_mon.logsetup import LoggingConfig
from otel_mon.metric_spec import MetricSpec
from otel_mon.probes.config import ProbeConfig
from otel_mon.resource import ResourceConfig
from otel_mon.schema import ByteSize, ConfigError, Duration, Problem, check
from otel_mon.secretfile import SecretFileError, read_secret_file
from otel_mon.spool.config import SpoolConfig

log = logging.getLogger("otel_mon.config")


@dataclass(frozen=True)
class Settings:
    """Every section, by its YAML key. ``inline`` sections take their keys from this level."""

    # 15 s: what a Prometheus scrape usually is, so every scrape sees exactly one fresh collection and none is
    # collected for nobody (10 s collected 1.5 times per 15 s scrape). The SDK's periodic reader and the
    # Collector's hostmetrics receiver default to 60 s; README "Cost" has the measured difference.
    interval: Duration = Duration(15.0)
    root_path: str = "/"
    resource: ResourceConfig = schema.inline(ResourceConfig)  # service_name, resource_attributes
    host: HostConfig = schema.inline(HOST_CONFIG)  # collectors and each host domain's section (host/config.py)
    selection: MetricsConfig = schema.inline(MetricsConfig)  # metrics
    http: HttpConfig = HttpConfig()
    logging: LoggingConfig = LoggingConfig()
    spool: SpoolConfig = SpoolConfig()
    probes: tuple[ProbeConfig, ...] = ()
    otlp: OtlpConfig = OtlpConfig()
    remote_write: RemoteWriteConfig = RemoteWriteConfig()
    health: HealthConfig = HealthConfig()
    compat: CompatConfig = CompatConfig()  # other names for the same snapshot (/metrics/node_exporter)
    # Filled by resolve(): each webhook's URL and token, read once from the environment or files.
    credentials: Mapping[str, Credentials] = schema.internal(dict)

    def __post_init__(self) -> None:
        problems = []
        if self.interval < 0.1:
            problems.append(Problem("interval", "must be at least 100ms", self.interval))
        if self.otlp.enabled and not self.spool.enabled:
            problems.append(Problem("otlp.endpoint", "OTLP forwarding reads the spool; set spool.enabled: true"))
        if self.remote_write.enabled and not self.spool.enabled:
            problems.append(Problem("remote_write.url", "remote write reads the spool; set spool.enabled: true"))
        if not Path(self.root_path).is_absolute():
            problems.append(Problem("root_path", "must be an absolute path", self.root_path))
        check(self, problems)

    def collector_enabled(self, domain: str) -> bool:
        return self.host.collector_enabled(domain)

    def metric_enabled(self, spec: MetricSpec) -> bool:
        return metric_enabled(self, spec)


def metric_enabled(settings: Settings, spec: MetricSpec) -> bool:
    """``metrics:`` overrides first, then the domain's collector switch, then the metric's default."""
    if spec.name in settings.selection.metrics:
        return settings.selection.metrics[spec.name]
    if spec.domain in HOST_DOMAINS and not settings.collector_enabled(spec.domain):
        return False
    return spec.default  # an opt-in domain's rows are on by default: its collector switch decides


# OTel standard variables -> our keys. Values are converted where the units differ.
def _otel_env(env: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    out: dict[str, Any] = {}
    problems: list[str] = []
    if "OTEL_SERVICE_NAME" in env:
        out["service_name"] = env["OTEL_SERVICE_NAME"]
    if "OTEL_RESOURCE_ATTRIBUTES" in env:
        try:
            out["resource_attributes"] = schema.parse_key_values(env["OTEL_RESOURCE_ATTRIBUTES"])
        except ValueError as exc:
            problems.append(schema.invalid("OTEL_RESOURCE_ATTRIBUTES", env["OTEL_RESOURCE_ATTRIBUTES"], str(exc)))
    raw = env.get("OTEL_METRIC_EXPORT_INTERVAL", "").strip()
    if raw:  # the specification: an empty variable is unset
        try:
            ms = float(raw)
        except ValueError:
            ms = math.nan
        if not math.isfinite(ms):
            problems.append(schema.invalid("OTEL_METRIC_EXPORT_INTERVAL", raw, "expected milliseconds"))
        elif ms < 100:
            problems.append(schema.invalid("OTEL_METRIC_EXPORT_INTERVAL", raw, "must be at least 100 (ms)"))
        else:
            out["interval"] = ms / 1000.0
    otlp, otlp_problems = otlp_from_env(env)
    if otlp:
        out["otlp"] = otlp
    problems.extend(otlp_problems)
    return out, problems


# Variables with this prefix that are not settings (used by the test suite and tooling).
_NOT_SETTINGS = {"OTEL_MON_REQUIRE_INTEGRATION", "OTEL_MON_CONFIG"}


def env_overrides(env: Mapping[str, str], root: type = Settings) -> tuple[dict[str, Any], list[str]]:
    """``OTEL_MON_A__B=value`` -> ``{"a": {"b": "value"}}``; ``..._FILE`` reads the value from a file."""
    out, problems = _otel_env(env)
    for key, value in env.items():
        if not key.startswith("OTEL_MON_") or key in _NOT_SETTINGS:
            continue
        dotted = key[len("OTEL_MON_"):].lower().split("__")
        from_file = False
        if dotted[-1].endswith("_file") and not _known_path(root, dotted):
            dotted[-1] = dotted[-1][: -len("_file")]
            from_file = True
        if not _known_path(root, dotted):
            hint = schema.did_you_mean(key[len("OTEL_MON_"):], env_names(root)).replace("'", "'OTEL_MON_", 1)
            problems.append(f"{key}: unknown setting {'.'.join(dotted)!r}{hint}")
            continue
        if _is_section(root, dotted):
            # OTEL_MON_HTTP=true next to OTEL_MON_HTTP__PORT=1 must give one answer whatever the order.
            problems.append(f"{key}: {'.'.join(dotted)} is a section; set its keys ({key}__<KEY>) instead")
            continue
        if from_file:
            try:
                value, warning = read_secret_file(value)
            except SecretFileError as exc:
                shown = repr(value) if len(value) <= 200 else repr(value[:197] + "...")
                problems.append(f"{key}: {shown} {exc}")
                continue
            if warning:
                log.warning("%s: %s", key, warning)
        schema.set_path(out, dotted, value)
    return out, problems


def env_names(cls: Any, prefix: str = "") -> list[str]:
    """Every ``OTEL_MON_<NAME>`` naming a setting, without the prefix (for the did-you-mean of an unknown one)."""
    out: list[str] = []
    for key, (_attrs, tp) in schema.keys(cls).items():
        name = prefix + key.upper()
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            out += env_names(tp, name + "__")
        else:
            out.append(name)
    return out


def _key_type(cls: Any, key: str) -> tuple[bool, Any]:
    """(known, type) of ``key`` in the section ``cls``, keys of inline sections included."""
    if not isinstance(cls, type) or not dataclasses.is_dataclass(cls):
        return False, None
    found = schema.keys(cls).get(key)
    return (False, None) if found is None else (True, found[1])


def _known_path(cls: Any, parts: list[str]) -> bool:
    for i, part in enumerate(parts):
        known, tp = _key_type(cls, part)
        if not known:
            return False
        if i == len(parts) - 1:
            return True
        if get_origin(tp) is dict:
            return True  # a mapping accepts any key beneath it
        cls = tp
    return True


def _is_section(cls: Any, parts: list[str]) -> bool:
    """True when ``parts`` names a whole section (a dataclass), which one environment value cannot set."""
    tp: Any = cls
    for part in parts:
        known, tp = _key_type(tp, part)
        if not known:
            return False
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _split_key(cls: Any, dotted: str) -> list[str]:
    """Split a dotted key into sections; below a mapping field the rest is one key (metric names have dots)."""
    parts = dotted.split(".")
    for i, part in enumerate(parts[:-1]):
        known, tp = _key_type(cls, part)
        if not known:
            return parts
        if not dataclasses.is_dataclass(tp):
            return [*parts[: i + 1], ".".join(parts[i + 1 :])]
        cls = tp
    return parts


def load(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Settings:
    """Resolve the settings from every source; raise ``ConfigError`` listing every problem found.

    ``path`` may be several files: merged in order, mappings key by key, a later list replacing an earlier one.
    """
    env = os.environ if env is None else env
    paths = [] if path is None else [path] if isinstance(path, (str, os.PathLike)) else list(path)
    raw: dict[str, Any] = {}
    files: list[tuple[str, dict[str, Any]]] = []
    for one in paths:
        files.append((os.fspath(one), load_file(one)))
        raw = schema.merge(raw, files[-1][1])
    from_env, problems = env_overrides(env)
    raw = schema.merge(raw, from_env)
    later: dict[str, Any] = dict(from_env)  # what overrides every file: a key set here is not a file's
    for dotted, value in (flags or {}).items():
        try:
            schema.set_path(raw, _split_key(Settings, dotted), value)
            schema.set_path(later, _split_key(Settings, dotted), value)
        except ValueError as exc:
            problems.append(str(exc))
    try:
        settings = schema.build(Settings, raw)
        problems.extend(validate_health(settings.health, settings.probes))
    except ConfigError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ConfigError([with_origin(p, files, later) for p in problems] if len(files) > 1 else problems)
    return resolve(settings, env)


_INDEX = re.compile(r"\[(\d+)\]")


def _has_path(doc: Any, path: str) -> bool:
    """True when ``path`` (``health.rules[2].for``, ``metrics.system.cpu.time``) is set in ``doc``."""
    parts = [p for p in _INDEX.sub(r".[\1]", path).split(".") if p]
    i = 0
    while i < len(parts):
        index = _INDEX.fullmatch(parts[i])
        if index:
            if not isinstance(doc, list) or int(index[1]) >= len(doc):
                return False
            doc, i = doc[int(index[1])], i + 1
            continue
        if not isinstance(doc, dict):
            return False
        # A key may hold dots itself (a metric name under ``metrics``): the longest key that matches wins.
        for j in range(len(parts), i, -1):
            key = ".".join(parts[i:j])
            if key in doc:
                doc, i = doc[key], j
                break
        else:
            return False
    return True


def with_origin(problem: str, files: Sequence[tuple[str, Mapping[str, Any]]], later: Mapping[str, Any]) -> str:
    """``problem`` with `` (set in FILE)`` naming the last of several files that set its key.

    The files are merged before validation, so the problem alone cannot say which of them was wrong; a key
    that the environment or a flag set afterwards is theirs, and is left as it is.
    """
    path = problem.split(": ", 1)[0]
    if not path or " " in path or _has_path(later, path):
        return problem
    for name, doc in reversed(files):
        if _has_path(doc, path):
            return f"{problem} (set in {name})"
    return problem


def resolve(settings: Settings, env: Mapping[str, str]) -> Settings:
    """The one look at the host, after validation: files readable, secrets read, programs found."""
    unreadable = [(name, path) for name, path in settings.http.files().items() if not os.access(path, os.R_OK)]
    # The first one only: with the same path in both (a combined PEM), one line says it all.
    problems = [schema.invalid(f"http.{name}", path, "not a readable file") for name, path in unreadable[:1]]
    credentials, found = resolve_health(settings.health, env)
    problems += found
    if problems:
        raise ConfigError(problems)
    return dataclasses.replace(settings, credentials=credentials)


def resolve_health(health: HealthConfig, env: Mapping[str, str],
                   path: str = "health") -> tuple[dict[str, Credentials], list[str]]:
    """Webhook secrets (read once, here) and action programs (on PATH or absolute) of the health section."""
    credentials, problems = resolve_notifiers(health.notifiers, env)
    lines = [schema.render(f"{path}.{p.field}", p) for p in problems]
    for i, action in enumerate(health.actions):
        if action.command and shutil.which(action.command[0]) is None:
            lines.append(schema.invalid(f"{path}.actions[{i}].command", action.command[0],
                                        "no such executable (an absolute path, or a name on PATH)"))
    return credentials, lines


__all__ = ["ByteSize", "ConfigError", "Duration", "Filter", "Settings", "load", "resolve"]
