"""The agent's settings: built-in defaults < YAML file < environment < command-line flags.

One typed model (frozen dataclasses, coerced by ``schema.build``). Environment: the OpenTelemetry standard
variables we honour (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_METRIC_EXPORT_INTERVAL``, and
the ``OTEL_EXPORTER_OTLP_*`` family) plus ``OTEL_MON_<KEY>`` for any of our keys, with ``__`` between
sections (``OTEL_MON_HTTP__PORT=9100``). Secrets may also come from ``<KEY>_FILE`` variables.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from otel_mon import schema
from otel_mon.forward.config import OtlpConfig, otlp_from_env
from otel_mon.health.config import HealthConfig
from otel_mon.health.config import validate as validate_health
from otel_mon.probes.config import ProbeConfig
from otel_mon.schema import ByteSize, ConfigError, Duration, secret
from otel_mon.semconv import BY_NAME, HOST_DOMAINS, OPT_IN_DOMAINS
from otel_mon.spool.config import SpoolConfig

# Virtual filesystems node_exporter skips by default (its --collector.filesystem.fs-types-exclude), plus a few
# more that only ever hold kernel state.
DEFAULT_FS_TYPES_EXCLUDE = (
    "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts", "devtmpfs", "fusectl",
    "hugetlbfs", "iso9660", "mqueue", "nsfs", "overlay", "proc", "procfs", "pstore", "rpc_pipefs",
    "securityfs", "selinuxfs", "squashfs", "sysfs", "tracefs", "ramfs", "efivarfs", "fuse.lxcfs",
    "fuse.gvfsd-fuse", "fuse.portal", "nfsd", "tmpfs",
)
# node_exporter's --collector.filesystem.mount-points-exclude default.
DEFAULT_MOUNTPOINTS_EXCLUDE = ("/dev", "/dev/*", "/proc", "/proc/*", "/sys", "/sys/*", "/run/credentials/*",
                               "/var/lib/docker/*", "/var/lib/containers/storage/*", "/run/containerd/*")
# node_exporter's --collector.netdev.device-exclude is empty; loopback is rarely wanted on dashboards but is
# kept (it is real traffic). Virtual container veths are excluded like the hostmetrics examples do.
DEFAULT_INTERFACES_EXCLUDE = ("veth*",)
# node_exporter's --collector.diskstats.device-exclude default, as globs.
DEFAULT_DISKS_EXCLUDE = ("ram*", "loop*", "fd*", "sr*", "nbd*", "zram*", "dm-*", "md*p*", "hd*[0-9]",
                         "sd*[0-9]", "nvme*n*p*", "vd*[0-9]", "xvd*[0-9]", "mmcblk*p*")


@dataclass(frozen=True)
class Filter:
    """Glob include/exclude lists: a name passes when it matches an include (or there are none) and no exclude."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class FilesystemConfig:
    devices: Filter = Filter()
    mountpoints: Filter = Filter(exclude=DEFAULT_MOUNTPOINTS_EXCLUDE)
    types: Filter = Filter(exclude=DEFAULT_FS_TYPES_EXCLUDE)
    timeout: Duration = Duration(1.0)

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise ValueError(f"timeout: invalid value {self.timeout!r}: must be above 0")


@dataclass(frozen=True)
class HttpConfig:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 9464
    token: str | None = secret()
    tls_cert: str | None = None
    tls_key: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port: invalid value {self.port!r}: expected 0-65535")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("tls_cert: invalid value: tls_cert and tls_key must be set together")
        for name in ("tls_cert", "tls_key"):
            path = getattr(self, name)
            if path and not os.access(path, os.R_OK):
                raise ValueError(f"{name}: invalid value {path!r}: not a readable file")


@dataclass(frozen=True)
class LoggingConfig:
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json"] = "text"


def _default_collectors() -> dict[str, bool]:
    return {name: name not in OPT_IN_DOMAINS for name in HOST_DOMAINS}


@dataclass(frozen=True)
class Settings:
    service_name: str = "otel-mon"
    resource_attributes: dict[str, str] = field(default_factory=dict)
    interval: Duration = Duration(10.0)
    root_path: str = "/"
    collectors: dict[str, bool] = field(default_factory=_default_collectors)
    metrics: dict[str, bool] = field(default_factory=dict)
    cpu_per_logical: bool = False
    connections_interval: Duration = Duration(60.0)
    filesystem: FilesystemConfig = FilesystemConfig()
    disks: Filter = Filter(exclude=DEFAULT_DISKS_EXCLUDE)
    interfaces: Filter = Filter(exclude=DEFAULT_INTERFACES_EXCLUDE)
    http: HttpConfig = HttpConfig()
    logging: LoggingConfig = LoggingConfig()
    spool: SpoolConfig = SpoolConfig()
    probes: tuple[ProbeConfig, ...] = ()
    otlp: OtlpConfig = OtlpConfig()
    health: HealthConfig = HealthConfig()

    def __post_init__(self) -> None:
        problems = []
        if self.interval < 0.1:
            problems.append(f"interval: invalid value {self.interval!r}: must be at least 100ms")
        for name in self.collectors:
            if name not in HOST_DOMAINS:
                hint = schema._did_you_mean(name, list(HOST_DOMAINS))
                problems.append(f"collectors.{name}: unknown collector{hint}")
        for name in self.metrics:
            if name not in BY_NAME:
                hint = schema._did_you_mean(name, list(BY_NAME))
                problems.append(f"metrics.{name}: unknown metric{hint}")
        if self.otlp.enabled and not self.spool.enabled:
            problems.append("otlp.endpoint: invalid value: OTLP forwarding reads the spool; set spool.enabled: true")
        if not Path(self.root_path).is_absolute():
            problems.append(f"root_path: invalid value {self.root_path!r}: must be an absolute path")
        if problems:
            raise ValueError("\n".join(problems))

    def collector_enabled(self, domain: str) -> bool:
        return _default_collectors().get(domain, True) if domain not in self.collectors else self.collectors[domain]


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
            problems.append(f"OTEL_RESOURCE_ATTRIBUTES: invalid value {env['OTEL_RESOURCE_ATTRIBUTES']!r}: {exc}")
    raw = env.get("OTEL_METRIC_EXPORT_INTERVAL", "").strip()
    if raw:  # the specification: an empty variable is unset
        try:
            ms = float(raw)
        except ValueError:
            ms = math.nan
        if not math.isfinite(ms):
            problems.append(f"OTEL_METRIC_EXPORT_INTERVAL: invalid value {raw!r}: expected milliseconds")
        elif ms < 100:
            problems.append(f"OTEL_METRIC_EXPORT_INTERVAL: invalid value {raw!r}: must be at least 100 (ms)")
        else:
            out["interval"] = ms / 1000.0
    otlp, otlp_problems = otlp_from_env(env)
    if otlp:
        out["otlp"] = otlp
    problems.extend(otlp_problems)
    return out, problems


# Variables with this prefix that are not settings (used by the test suite and tooling).
_NOT_SETTINGS = {"OTEL_MON_REQUIRE_INTEGRATION", "OTEL_MON_CONFIG"}


def _field_names(cls: type) -> dict[str, Any]:
    return {f.name: f for f in dataclasses.fields(cls)}


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
            problems.append(f"{key}: unknown setting {'.'.join(dotted)!r}")
            continue
        if from_file:
            try:
                value = Path(value).read_text(encoding="utf-8").strip()
            except OSError as exc:
                problems.append(f"{key}: cannot read {value!r}: {exc.strerror}")
                continue
            except UnicodeDecodeError:
                problems.append(f"{key}: cannot read {value!r}: not UTF-8 text")
                continue
        schema.set_path(out, dotted, value)
    return out, problems


def _known_path(cls: Any, parts: list[str]) -> bool:
    for i, part in enumerate(parts):
        if not dataclasses.is_dataclass(cls):
            return False
        fields = _field_names(cls)  # type: ignore[arg-type]
        if part not in fields:
            return False
        hint = fields[part].type
        resolved = _resolve(cls, part)
        if i == len(parts) - 1:
            return True
        if resolved is None and isinstance(hint, str) and hint.startswith("dict["):
            return True  # a mapping accepts any key beneath it
        cls = resolved
        if cls is None:
            return False
    return True


def _split_key(cls: Any, dotted: str) -> list[str]:
    """Split a dotted key into sections; below a mapping field the rest is one key (metric names have dots)."""
    parts = dotted.split(".")
    for i, part in enumerate(parts[:-1]):
        if not dataclasses.is_dataclass(cls) or part not in _field_names(cls):  # type: ignore[arg-type]
            return parts
        nxt = _resolve(cls, part)
        if nxt is None:
            return [*parts[: i + 1], ".".join(parts[i + 1 :])]
        cls = nxt
    return parts


def _resolve(cls: Any, name: str) -> Any:
    from typing import get_type_hints

    tp = get_type_hints(cls)[name]
    return tp if dataclasses.is_dataclass(tp) else None


def load_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"config: cannot read {str(path)!r}: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"config: cannot read {str(path)!r}: not UTF-8 text"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([f"config: {str(path)!r}{where}: not valid YAML: {reason}"]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([f"config: {str(path)!r}: expected a mapping at the top level, got {type(data).__name__}"])
    return data


def load(
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Settings:
    """Resolve the settings from every source; raise ``ConfigError`` listing every problem found."""
    env = os.environ if env is None else env
    raw: dict[str, Any] = load_file(path) if path else {}
    from_env, problems = env_overrides(env)
    raw = schema.merge(raw, from_env)
    for dotted, value in (flags or {}).items():
        try:
            schema.set_path(raw, _split_key(Settings, dotted), value)
        except ValueError as exc:
            problems.append(str(exc))
    try:
        settings = schema.build(Settings, raw)
    except ConfigError as exc:
        problems.extend(exc.problems)
        raise ConfigError(problems) from None
    problems.extend(validate_health(settings.health, settings.probes, env=env))
    if problems:
        raise ConfigError(problems)
    return settings


__all__ = ["ByteSize", "ConfigError", "Duration", "Filter", "Settings", "load"]
