"""OTLP forwarding settings: the ``otlp`` section and the targets it resolves to.

``OtlpConfig`` is the ``otlp`` section of the agent's settings. ``resolve`` turns it into one concrete
``Target`` per signal, applying the OTLP exporter rules in one place so the YAML file, the environment and
``otel-mon replay`` all mean the same thing by an endpoint:

- an endpoint with a scheme decides TLS by it (``https`` yes, ``http`` no); one without a scheme uses TLS
  unless ``insecure`` is true, and gets the protocol's default port (4317 gRPC, 4318 HTTP) when it has none;
- for HTTP the generic endpoint gets ``/v1/metrics`` or ``/v1/logs`` appended, a per-signal endpoint is used
  as it is (the OTLP exporter specification's rule);
- gRPC addresses are ``host:port``; a URL path is ignored there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from otel_mon import schema
from otel_mon.forward.config_checks import (
    SCHEME_RE,
    endpoint_problem,
    grpc_header_problems,
    header_problems,
    pacing_problems,
)
from otel_mon.schema import ByteSize, Duration, Problem, check, secret
from otel_mon.urls import redact_url

Signal = Literal["metrics", "logs"]
Protocol = Literal["grpc", "http/protobuf", "http/json"]
Compression = Literal["none", "gzip"]

SIGNALS: tuple[Signal, ...] = ("metrics", "logs")


def thread_name(signal: Signal) -> str:
    """The name of the thread that forwards ``signal``: ``logsetup`` keeps the logs one's records out of the
    logs spool by it."""
    return f"otel-mon-forward-{signal}"
DEFAULT_PORTS = {"grpc": 4317, "http/protobuf": 4318, "http/json": 4318}


@dataclass(frozen=True, repr=False)
class Transport:
    """Where and how one signal is sent: the settings the OTLP exporter specification lets each signal override.

    Declared once. It is the type of ``otlp.metrics`` and ``otlp.logs`` (``OTEL_EXPORTER_OTLP_METRICS_*``), where
    None means "the section's value"; ``OtlpConfig`` inherits these fields as the section's own and gives four of
    them a default. ``for_signal`` applies a signal's values field by field, and ``otlp_from_env`` reads one
    variable per field.
    """

    endpoint: str | None = None
    protocol: Protocol | None = None
    headers: dict[str, str] | None = secret()
    compression: Compression | None = None
    timeout: Duration | None = None
    certificate: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None
    insecure: bool | None = None

    def __repr__(self) -> str:  # a logged config must not carry the headers
        return f"{type(self).__name__}({schema.redacted(self)!r})"

    def __post_init__(self) -> None:
        check(self, self._transport_problems())

    def _transport_problems(self) -> list[Problem]:
        problems = header_problems("", self.headers)
        if self.endpoint is not None and (problem := endpoint_problem("endpoint", self.endpoint)):
            problems.append(problem)
        if self.timeout is not None and self.timeout <= 0:
            problems.append(Problem("timeout", "must be above 0", self.timeout))
        return problems


TRANSPORT_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Transport))


def _inherits(value: object) -> bool:
    """A signal's value that leaves the section's in place: None, or an empty path (as an empty variable)."""
    return value is None or value == ""


@dataclass(frozen=True, repr=False)
class OtlpConfig(Transport):
    """Where and how the forwarder sends the spool; ``endpoint: None`` (and no per-signal one) = off."""

    # The section's defaults for the Transport fields that have one (the others stay None).
    protocol: Protocol = "http/protobuf"
    headers: dict[str, str] = secret(default_factory=dict)
    # gzip by default: host metrics compress ~10x and a drained backlog is mostly bandwidth.
    compression: Compression = "gzip"
    timeout: Duration = Duration(10.0)
    metrics: Transport = field(default_factory=Transport)
    logs: Transport = field(default_factory=Transport)
    # Spool lines per export request, and the request's protobuf size; the Collector's gRPC receiver refuses
    # messages above 4 MiB by default.
    max_batch_records: int = 64
    max_batch_size: ByteSize = ByteSize(2 * 1024 * 1024)
    # Spool lines per second and signal while a backlog drains (0 = unlimited): a recovering collector is not
    # flooded by every agent at once, and the agent stays light (a host-sized line of ~300 points costs ~10 ms
    # of CPU to parse and send, so 20 lines/s is ~20% of one core; a day's outage at 15 s drains in ~5 min).
    drain_rate: float = 20.0
    backoff_initial: Duration = Duration(1.0)
    backoff_max: Duration = Duration(60.0)
    # Fallback when nobody calls notify(); the agent wakes the forwarder after each spool write.
    poll_interval: Duration = Duration(5.0)
    # /health reports degraded when the oldest undelivered line is older than this.
    lag_threshold: Duration = Duration(300.0)

    def __post_init__(self) -> None:
        problems = self._transport_problems()
        problems += [p for p in pacing_problems(self) if p not in problems]  # timeout is in both
        if not problems:
            seen: set[Problem] = set()
            for signal in SIGNALS:
                over: Transport = getattr(self, signal)
                if (over.protocol or self.protocol) != "grpc":
                    continue
                own = over.headers or {}
                inherited = {k: v for k, v in self.headers.items() if k not in own}
                for problem in (grpc_header_problems("", inherited) + grpc_header_problems(f"{signal}.", own)):
                    if problem not in seen:
                        seen.add(problem)
                        problems.append(problem)
        check(self, problems)

    @property
    def enabled(self) -> bool:
        return self.endpoint is not None or any(getattr(self, signal).endpoint is not None for signal in SIGNALS)


def for_signal(config: OtlpConfig, signal: Signal) -> OtlpConfig:
    """The section as ``signal`` sees it: each Transport field the signal sets replaces the section's (headers
    merge key by key), and no per-signal values are left. Generic over the fields, so a new one needs no code."""
    over: Transport = getattr(config, signal)
    changes: dict[str, Any] = {name: Transport() for name in SIGNALS}
    for name in TRANSPORT_FIELDS:
        own = getattr(over, name)
        if _inherits(own):
            continue
        changes[name] = {**getattr(config, name), **own} if isinstance(own, dict) else own
    return dataclasses.replace(config, **changes)


@dataclass(frozen=True)
class Target:
    """Everything one sender needs for one signal, resolved from the config."""

    signal: Signal
    protocol: Protocol
    address: str  # http/protobuf: the full URL; grpc: host:port
    secure: bool
    headers: Mapping[str, str] = field(repr=False)
    compression: Compression
    timeout: float
    certificate: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None

    @property
    def display(self) -> str:
        """The endpoint as shown in logs and /health: no credentials, no query string."""
        if self.protocol == "grpc":
            return f"{'https' if self.secure else 'http'}://{self.address}"
        return redact_url(self.address)


def resolve(config: OtlpConfig, signal: Signal) -> Target | None:
    """The target for ``signal``, or None when that signal is not forwarded."""
    specific = not _inherits(getattr(config, signal).endpoint)
    own = for_signal(config, signal)
    if own.endpoint is None:
        return None
    text = own.endpoint.strip()
    has_scheme = bool(SCHEME_RE.match(text))
    parts = urlsplit(text if has_scheme else f"//{text}")
    secure = parts.scheme == "https" if has_scheme else not own.insecure
    host = parts.hostname or ""
    host_text = f"[{host}]" if ":" in host else host
    port = parts.port
    if own.protocol == "grpc":
        if port is None:
            port = 443 if parts.scheme == "https" else DEFAULT_PORTS["grpc"]
        address = f"{host_text}:{port}"
    else:
        if port is None and not has_scheme:
            port = DEFAULT_PORTS["http/protobuf"]
        netloc = host_text if port is None else f"{host_text}:{port}"
        path = parts.path
        if not specific:
            path = path.rstrip("/") + f"/v1/{signal}"
        elif not path:
            path = "/"
        query = f"?{parts.query}" if parts.query else ""
        address = f"{'https' if secure else 'http'}://{netloc}{path}{query}"
    return Target(
        signal=signal,
        protocol=own.protocol,
        address=address,
        secure=secure,
        headers=own.headers,
        compression=own.compression,
        timeout=float(own.timeout),
        certificate=own.certificate,
        client_certificate=own.client_certificate,
        client_key=own.client_key,
    )


