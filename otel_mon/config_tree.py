"""Raw config trees (mappings from YAML, env and flags) before they are built: merging, setting a dotted
path; and the redacted view of a built config (every secret ``***``, URLs' credentials hidden)."""

from __future__ import annotations

import dataclasses
from typing import Any

from otel_mon.urls import needs_redaction, redact_url


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``over`` onto ``base`` (later sources win, mappings merge key by key)."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def set_path(tree: dict[str, Any], parts: list[str], value: Any) -> None:
    dotted = ".".join(parts)
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ValueError(f"{dotted}: {part} is not a section")
    node[parts[-1]] = value


def redacted(obj: Any) -> Any:
    """A plain, JSON-able view of a config object with every secret field replaced by ``***``."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if f.metadata.get("internal"):
                continue
            if f.metadata.get("inline"):
                out.update(redacted(value))
            elif f.metadata.get("secret"):
                out[f.name] = "***" if value else value
            else:
                out[f.name] = redacted(value)
        return out
    if isinstance(obj, (list, tuple)):
        return [redacted(v) for v in obj]
    if isinstance(obj, dict):
        return {k: redacted(v) for k, v in obj.items()}
    if isinstance(obj, str) and needs_redaction(obj):
        return redact_url(obj)  # an endpoint's ?api_key= or user:pass@ is a secret too
    return obj
