"""Read webhook URLs and tokens from the environment or files, so they never sit in the config in plain text.

Called once, by the loader after validation (``otel_mon.config.resolve``); the health monitor receives the
result. Problems name the variable or path, never the value.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from otel_mon.schema import Problem
from otel_mon.secretfile import SecretFileError, read_secret_file

log = logging.getLogger(__name__)


class SecretSource(Protocol):
    """What a notifier section says about where its secrets are (``health.config.NotifierConfig``)."""

    @property
    def notifier_name(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def url_env(self) -> str | None: ...
    @property
    def url_file(self) -> str | None: ...
    @property
    def token(self) -> str | None: ...
    @property
    def token_env(self) -> str | None: ...
    @property
    def token_file(self) -> str | None: ...
    @property
    def optional(self) -> bool: ...


@dataclass(frozen=True)
class Credentials:
    """A webhook's URL and token, as read; never printed."""

    url: str = field(repr=False)
    token: str | None = field(default=None, repr=False)


class _Unusable(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.field)
        self.problem = problem


def _read(field: str, inline: str | None, env_name: str | None, file: str | None,
          env: Mapping[str, str]) -> str | None:
    if inline:
        return inline
    if env_name:
        value = env.get(env_name, "").strip()
        if not value:
            raise _Unusable(Problem(f"{field}_env", "the environment variable is not set or empty", env_name))
        return value
    if file:
        try:
            value, warning = read_secret_file(file)
        except SecretFileError as exc:
            raise _Unusable(Problem(f"{field}_file", f"the file {exc}", file)) from None
        if warning:
            log.warning("%s_file: %s", field, warning)
        return value
    return None


def _credentials(cfg: SecretSource, env: Mapping[str, str]) -> Credentials:
    url = _read("url", cfg.url, cfg.url_env, cfg.url_file, env) or ""
    try:
        parts = urlsplit(url)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a malformed IPv6 literal or port; the message could echo the URL, so drop it
        usable = False
    if not usable:
        source = "url_env" if cfg.url_env else "url_file" if cfg.url_file else "url"
        given = cfg.url_env or cfg.url_file or "***"
        raise _Unusable(Problem(source, "does not hold an http:// or https:// URL", given))
    return Credentials(url, _read("token", cfg.token, cfg.token_env, cfg.token_file, env))


def resolve_notifiers(notifiers: Sequence[SecretSource],
                      env: Mapping[str, str]) -> tuple[dict[str, Credentials], list[Problem]]:
    """Each notifier's credentials by name; problems are relative to the health section
    (``notifiers[1].url_env``). An ``optional`` notifier whose URL variable is unset or empty has no entry: it is
    off."""
    out: dict[str, Credentials] = {}
    problems: list[Problem] = []
    for i, cfg in enumerate(notifiers):
        if cfg.optional and cfg.url_env and not env.get(cfg.url_env, "").strip():
            log.info("notifier %s is off: %s is not set (optional)", cfg.notifier_name, cfg.url_env)
            continue
        try:
            out[cfg.notifier_name] = _credentials(cfg, env)
        except _Unusable as exc:
            p = exc.problem
            problems.append(Problem(f"notifiers[{i}].{p.field}", p.reason, p.value))
    return out, problems
