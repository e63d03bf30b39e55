"""The start-up lines that tell an operator where the agent's output goes: the status page's URL (the host a
browser reaches, not 0.0.0.0), the spool directory, and each forwarding destination (credentials redacted).

Wiring: it reads the whole ``Settings``, as the agent that logs these lines does.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from otel_mon.config import Settings
from otel_mon.urls import redact_url


def where_to_look(settings: Settings, port: int | None) -> list[tuple[str, dict[str, Any]]]:
    """The start-up lines that say where the agent's output goes: the page's URL, then each active output."""
    lines: list[tuple[str, dict[str, Any]]] = []
    if port is not None:
        http = settings.http
        host = http.host
        if host in ("", "0.0.0.0", "::"):  # nosec B104  # a comparison, not a bind: name the host a browser reaches
            host = socket.gethostname()
        host = f"[{host}]" if ":" in host else host
        base = f"{'https' if http.tls_cert else 'http'}://{host}:{port}"
        lines.append((f"status page {base}/ (Prometheus {base}/metrics, JSON /health, /ready)",
                      {"listen": f"{http.host}:{port}", "tls": bool(http.tls_cert), "auth": bool(http.token)}))
    if settings.spool.enabled:
        lines.append((f"spool {os.path.abspath(settings.spool.dir)} (OTLP-JSON lines; `otel-mon tail` reads it)",
                      {}))
    else:
        lines.append(("spool off: nothing is kept on disk or forwarded", {}))
    if settings.spool.enabled and settings.otlp.enabled:
        from otel_mon.forward.config import SIGNALS, resolve

        for signal in SIGNALS:
            target = resolve(settings.otlp, signal)
            if target is not None:
                lines.append((f"forwarding {signal} over OTLP to {target.display}", {"protocol": target.protocol}))
    if settings.spool.enabled and settings.remote_write.enabled and settings.remote_write.url:
        lines.append((f"forwarding metrics by Prometheus remote write to {redact_url(settings.remote_write.url)}",
                      {}))
    return lines
