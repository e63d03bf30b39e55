"""The ``http`` section: where /metrics, /health and /ready listen, the bearer token and TLS files.

Whether the TLS files can be read is checked once, after validation, by ``otel_mon.config.resolve``.
"""

from __future__ import annotations

from dataclasses import dataclass

from otel_mon.schema import Duration, Problem, check, secret
from otel_mon.secretfile import secret_problem


@dataclass(frozen=True)
class HttpConfig:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 9464
    token: str | None = secret()
    tls_cert: str | None = None
    tls_key: str | None = None
    # Host names answered without a token beside IP literals, localhost and this host's name (DNS rebinding).
    allowed_hosts: tuple[str, ...] = ()
    # Open connections at most (each holds a file descriptor, not a thread); more wait in the listen backlog.
    max_connections: int = 64
    # Idle connections one client address may hold; a new one beyond it closes that client's longest-idle one.
    max_connections_per_client: int = 16
    # The whole request head (TLS handshake included) must arrive within this time of its first byte.
    header_timeout: Duration = Duration(5.0)

    def __post_init__(self) -> None:
        out = []
        if not 0 <= self.port <= 65535:
            out.append(Problem("port", "expected 0-65535", self.port))
        if self.token is not None and (why := secret_problem(self.token)):
            # An empty token would silently turn auth off; a stray space or CR would never match.
            out.append(Problem("token", f"the token {why}", "***"))
        if not 1 <= self.max_connections <= 10_000:
            out.append(Problem("max_connections", "expected 1-10000", self.max_connections))
        if not 1 <= self.max_connections_per_client <= 10_000:
            out.append(Problem("max_connections_per_client", "expected 1-10000", self.max_connections_per_client))
        if not 0.1 <= self.header_timeout <= 300:
            out.append(Problem("header_timeout", "expected 100ms to 5m", self.header_timeout))
        if bool(self.tls_cert) != bool(self.tls_key):
            out.append(Problem("tls_cert", "tls_cert and tls_key must be set together"))
        check(self, out)

    def files(self) -> dict[str, str]:
        """The files this section names (field -> path), for the loader's one look at the disk."""
        return {name: path for name in ("tls_cert", "tls_key") if (path := getattr(self, name))}
