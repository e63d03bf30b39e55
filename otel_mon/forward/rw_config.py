"""The ``remote_write`` section: where and how the agent remote-writes its spool to Prometheus.

``url: None`` = off. Headers, basic auth and TLS files mean what they mean for OTLP; the pacing keys
(batching, drain rate, backoff) are the OTLP forwarder's, with batches sized for remote write (Prometheus'
own queue sends 2,000 samples per request; a host-sized spool line is ~150-300 samples).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from otel_mon import schema
from otel_mon.forward.config import Target
from otel_mon.forward.config_checks import endpoint_problem, header_problems, pacing_problems
from otel_mon.schema import ByteSize, Duration, Problem, check, secret

_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


@dataclass(frozen=True)
class BasicAuth:
    username: str | None = None
    password: str | None = secret()

    def __repr__(self) -> str:
        return f"BasicAuth({schema.redacted(self)!r})"


@dataclass(frozen=True)
class RemoteWriteConfig:
    """Prometheus remote write 1.0 from the spool, with its own cursor (``.cursor-remote_write.json``)."""

    url: str | None = None
    headers: dict[str, str] = secret(default_factory=dict)
    basic_auth: BasicAuth = field(default_factory=BasicAuth)
    timeout: Duration = Duration(10.0)
    certificate: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None
    # Added to every series (like Prometheus' external_labels); job and instance come from the resource.
    labels: dict[str, str] = field(default_factory=dict)
    max_batch_records: int = 8
    max_batch_size: ByteSize = ByteSize(1024 * 1024)  # uncompressed protobuf per request
    drain_rate: float = 20.0
    backoff_initial: Duration = Duration(1.0)
    backoff_max: Duration = Duration(60.0)
    poll_interval: Duration = Duration(5.0)
    lag_threshold: Duration = Duration(300.0)

    def __repr__(self) -> str:  # a logged config must not carry the headers or the password
        return f"RemoteWriteConfig({schema.redacted(self)!r})"

    def __post_init__(self) -> None:
        problems = header_problems("", self.headers)
        if self.url is not None:
            problem = endpoint_problem("url", self.url)
            if problem is None and urlsplit(self.url.strip()).scheme not in ("http", "https"):
                problem = Problem("url", "expected http:// or https://, e.g. http://prometheus:9090/api/v1/write",
                                  self.url)
            if problem:
                problems.append(problem)
        auth = self.basic_auth
        if (auth.username is None) != (auth.password is None):
            problems.append(Problem("basic_auth", "username and password must be set together", plain=True))
        if auth.username is not None and any(k.lower() == "authorization" for k in self.headers):
            problems.append(Problem("basic_auth", "an Authorization header is set as well; use one of them",
                                    plain=True))
        problems += pacing_problems(self)
        for key in self.labels:
            if not _LABEL_RE.match(key) or key.startswith("__"):
                problems.append(Problem(f"labels.{key}", "invalid label name", plain=True))
        check(self, problems)

    @property
    def enabled(self) -> bool:
        return self.url is not None

    def target(self) -> Target | None:
        """The HTTP target the sender posts to (the wire headers are the sender's)."""
        if self.url is None:
            return None
        url = self.url.strip()
        headers = dict(self.headers)
        auth = self.basic_auth
        if auth.username is not None and auth.password is not None:
            token = base64.b64encode(f"{auth.username}:{auth.password}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        return Target(signal="metrics", protocol="http/protobuf", address=url, secure=url.startswith("https"),
                      headers=headers, compression="none", timeout=float(self.timeout),
                      certificate=self.certificate, client_certificate=self.client_certificate,
                      client_key=self.client_key)
