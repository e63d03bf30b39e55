"""Which settings a SIGHUP can change in a running agent, and which keep their running value until a restart.

Live: health (rules, thresholds, notifiers, actions), probes, logging, the host filters. Fixed: what owns a
socket, a lock, a thread or an instrument (the listen address and the rest of ``http``, the spool, the OTLP
forwarder, ``root_path``, the interval, the resource, which domains and metrics exist).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from otel_mon.host.table import HOST_DOMAINS
from otel_mon.schema import redacted

if TYPE_CHECKING:  # only the wiring imports the whole Settings (tests/test_layers.py)
    from otel_mon.config import Settings

# Settings fields (attribute names) that keep their running value.
FIXED = ("interval", "root_path", "resource", "selection", "http", "spool", "otlp")


def _changed(old: Any, new: Any, path: str) -> list[str]:
    """Dotted keys whose values differ between two redacted views."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [k for key in dict.fromkeys([*old, *new])
                for k in _changed(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))]
    return [] if old == new else [path]


def merge(running: Settings, loaded: Settings) -> tuple[Settings, list[str]]:
    """The settings to run with after a reload, and the changed keys that were kept at their running value."""
    kept: list[str] = []
    for name in FIXED:
        kept += _changed(redacted(getattr(running, name)), redacted(getattr(loaded, name)), name)
    # Which domains run is fixed (their instruments exist or not); their filters are live.
    host = dataclasses.replace(loaded.host, collectors=running.host.collectors)
    domains = sorted({*HOST_DOMAINS, *running.host.collectors, *loaded.host.collectors})
    kept += _changed({d: running.host.collector_enabled(d) for d in domains},
                     {d: loaded.host.collector_enabled(d) for d in domains}, "collectors")
    fixed = {name: getattr(running, name) for name in FIXED}
    # Settings keys of inline sections sit at the top level: name them as the user wrote them.
    kept = [k.split(".", 1)[1] if k.split(".", 1)[0] in ("resource", "selection") and "." in k else k for k in kept]
    return dataclasses.replace(loaded, host=host, **fixed), kept
