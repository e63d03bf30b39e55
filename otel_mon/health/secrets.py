"""Read webhook URLs and tokens from the environment or files, so they never sit in the config in plain text.

Errors name the variable or path, never the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from otel_mon.health.config import NotifierConfig


def _read(field: str, inline: str | None, env_name: str | None, file: str | None,
          env: Mapping[str, str]) -> str | None:
    if inline:
        return inline
    if env_name:
        value = env.get(env_name, "").strip()
        if not value:
            raise ValueError(f"{field}_env: invalid value {env_name!r}: the environment variable is not set or empty")
        return value
    if file:
        try:
            value = Path(file).read_text().strip()
        except OSError as exc:
            raise ValueError(f"{field}_file: invalid value {file!r}: cannot read it: {exc.strerror}") from None
        if not value:
            raise ValueError(f"{field}_file: invalid value {file!r}: the file is empty")
        return value
    return None


def resolve_notifier(cfg: NotifierConfig, env: Mapping[str, str]) -> tuple[str, str | None]:
    """(url, token) of a notifier; ValueError with one "field: ..." line when either cannot be used."""
    url = _read("url", cfg.url, cfg.url_env, cfg.url_file, env) or ""
    try:
        parts = urlsplit(url)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a malformed IPv6 literal or port; the message could echo the URL, so drop it
        usable = False
    if not usable:
        source = "url_env" if cfg.url_env else "url_file" if cfg.url_file else "url"
        given = cfg.url_env or cfg.url_file or "***"
        raise ValueError(f"{source}: invalid value {given!r}: does not hold an http:// or https:// URL")
    token = _read("token", cfg.token, cfg.token_env, cfg.token_file, env)
    return url, token
