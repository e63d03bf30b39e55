"""The ``http`` section: where /metrics, /health and /ready listen, the bearer token and TLS files.

Whether the TLS files can be read is checked once, after validation, by ``otel_mon.config.resolve``.
"""

from __future__ import annotations

from dataclasses import dataclass

from otel_mon.schema import Problem, check, secret


@dataclass(frozen=True)
class HttpConfig:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 9464
    token: str | None = secret()
    tls_cert: str | None = None
    tls_key: str | None = None

    def __post_init__(self) -> None:
        out = []
        if not 0 <= self.port <= 65535:
            out.append(Problem("port", "expected 0-65535", self.port))
        if bool(self.tls_cert) != bool(self.tls_key):
            out.append(Problem("tls_cert", "tls_cert and tls_key must be set together"))
        check(self, out)

    def files(self) -> dict[str, str]:
        """The files this section names (field -> path), for the loader's one look at the disk."""
        return {name: path for name in ("tls_cert", "tls_key") if (path := getattr(self, name))}
