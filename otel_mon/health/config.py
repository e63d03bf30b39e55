"""The ``health`` section: rules, notifiers and actions, and the checks that span sections.

Every reference is checked at load time: an unknown reading, a probe that is not configured, a notifier or
action naming a rule that does not exist, a secret that cannot be read -- each is a config error, never a
rule that silently stays ok.
"""

from __future__ import annotations

import difflib
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from otel_mon.health.readings import READINGS
from otel_mon.probes.config import is_blank
from otel_mon.schema import Duration, redacted, secret

if TYPE_CHECKING:
    from otel_mon.probes.config import ProbeConfig

NOTIFIER_KINDS = ("discord", "slack", "webhook")


def _hint(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True)
class RuleConfig:
    """Warning and critical thresholds on one reading; the state rises when the value is >= a threshold."""

    reading: str = ""
    name: str = ""  # defaults to the reading (plus ":instance" when one is set)
    instance: str | None = None  # only this instance (mountpoint, sensor, probe); all of them when unset
    warning: float | None = None
    critical: float | None = None
    for_: Duration | None = None  # how long a threshold must hold before the state rises (default_for)
    hysteresis: float | None = None  # fraction of the threshold the value must fall below it to clear

    def __post_init__(self) -> None:
        if is_blank(self):
            return
        out: list[str] = []
        spec = READINGS.get(self.reading)
        if spec is None:
            out.append(f"reading: invalid value {self.reading!r}: unknown reading; expected one of "
                       f"{', '.join(READINGS)}{_hint(self.reading, READINGS)}")
        elif self.instance not in (None, "") and not spec.instances:
            out.append(f"instance: invalid value {self.instance!r}: {self.reading} is host-wide and has no instances")
        if self.warning is None and self.critical is None:
            out.append("warning: invalid value None: a rule needs a warning or a critical threshold (or both)")
        if self.warning is not None and self.critical is not None and self.warning >= self.critical:
            out.append(f"warning: invalid value {self.warning!r}: must be below critical ({self.critical!r})")
        if self.hysteresis is not None and not 0 <= self.hysteresis < 1:
            out.append(f"hysteresis: invalid value {self.hysteresis!r}: expected a fraction from 0 to below 1")
        if out:
            raise ValueError("\n".join(out))

    @property
    def rule_name(self) -> str:
        if self.name:
            return self.name
        return self.reading if self.instance is None else f"{self.reading}:{self.instance}"


# The seed system's thresholds, kept; probe.failure is added so a probe that stops answering alerts at all.
DEFAULT_RULES: tuple[RuleConfig, ...] = (
    RuleConfig(reading="cpu", warning=75, critical=90),
    RuleConfig(reading="memory", warning=75, critical=90),
    RuleConfig(reading="filesystem", warning=80, critical=95),
    RuleConfig(reading="temperature", warning=70, critical=85),
    RuleConfig(reading="probe.latency", warning=100, critical=250),
    RuleConfig(reading="probe.failure", critical=1),
)


@dataclass(frozen=True, repr=False)
class NotifierConfig:
    """A webhook. The URL (and token) come from ``*_env`` or ``*_file``; inline only with allow_plaintext_secret."""

    kind: str = ""
    name: str = ""  # defaults to the kind
    url: str | None = secret()
    url_env: str | None = None
    url_file: str | None = None
    token: str | None = secret()  # generic webhook only: sent as "Authorization: Bearer <token>"
    token_env: str | None = None
    token_file: str | None = None
    allow_plaintext_secret: bool = False
    rules: tuple[str, ...] = ()  # only transitions of these rules; all rules when empty
    cooldown: Duration = Duration(300.0)
    timeout: Duration = Duration(10.0)
    retries: int = 3
    backoff: Duration = Duration(1.0)
    max_retry_after: Duration = Duration(300.0)
    queue_size: int = 100

    def __post_init__(self) -> None:
        if is_blank(self):
            return
        out: list[str] = []
        if self.kind not in NOTIFIER_KINDS:
            out.append(f"kind: invalid value {self.kind!r}: expected one of {', '.join(NOTIFIER_KINDS)}"
                       f"{_hint(self.kind, NOTIFIER_KINDS)}")
        out += _secret_problems("url", self.url, self.url_env, self.url_file, self.allow_plaintext_secret, True)
        out += _secret_problems("token", self.token, self.token_env, self.token_file, self.allow_plaintext_secret,
                                False)
        if self.kind in ("discord", "slack") and (self.token or self.token_env or self.token_file):
            out.append(f"token: invalid value '***': {self.kind} webhooks carry their secret in the URL; "
                       "a token is for kind webhook")
        if self.url and self.allow_plaintext_secret and not self.url.startswith(("http://", "https://")):
            out.append("url: invalid value '***': expected an http:// or https:// URL")
        if self.retries < 0:
            out.append(f"retries: invalid value {self.retries!r}: must not be negative")
        if self.timeout <= 0:
            out.append(f"timeout: invalid value {self.timeout!r}: must be above 0")
        if self.queue_size < 1:
            out.append(f"queue_size: invalid value {self.queue_size!r}: must be at least 1")
        if out:
            raise ValueError("\n".join(out))

    def __repr__(self) -> str:  # the default repr would show an inline url or token
        fields = ", ".join(f"{k}={v!r}" for k, v in redacted(self).items())
        return f"{type(self).__name__}({fields})"

    @property
    def notifier_name(self) -> str:
        return self.name or self.kind


def _secret_problems(field: str, inline: str | None, env: str | None, file: str | None, allow: bool,
                     required: bool) -> list[str]:
    given = [f for f, v in ((field, inline), (f"{field}_env", env), (f"{field}_file", file)) if v]
    if len(given) > 1:
        return [f"{given[1]}: invalid value: set only one of {field}, {field}_env, {field}_file"]
    if not given and required:
        return [f"{field}_env: invalid value None: name the environment variable (or {field}_file) holding the "
                f"{field}"]
    if inline and not allow:
        return [f"{field}: invalid value '***': a plaintext secret in the config file; use {field}_env or "
                f"{field}_file, or set allow_plaintext_secret: true"]
    return []


@dataclass(frozen=True)
class ActionConfig:
    """A command (argv, no shell) run once per critical episode of the named rules, after ``after`` of it."""

    name: str = ""
    rules: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    after: Duration = Duration(0.0)
    timeout: Duration = Duration(30.0)
    cooldown: Duration = Duration(900.0)

    def __post_init__(self) -> None:
        if is_blank(self):
            return
        out: list[str] = []
        if not self.name.strip():
            out.append("name: invalid value '': an action needs a name (it labels logs and metrics)")
        if not self.rules:
            out.append("rules: invalid value (): name the rules whose critical state runs this action")
        if not self.command:
            out.append("command: invalid value (): expected an argv list such as [/usr/bin/systemctl, restart, x]")
        elif len(self.command) == 1 and " " in self.command[0].strip() and not os.path.exists(self.command[0]):
            out.append(f"command: invalid value {self.command[0]!r}: expected an argv list (no shell runs it): "
                       "write each argument as its own list item")
        if self.timeout <= 0:
            out.append(f"timeout: invalid value {self.timeout!r}: must be above 0")
        if out:
            raise ValueError("\n".join(out))


@dataclass(frozen=True)
class HealthConfig:
    rules: tuple[RuleConfig, ...] = DEFAULT_RULES
    default_for: Duration = Duration(120.0)
    default_hysteresis: float = 0.05
    forget_after: Duration = Duration(600.0)  # an instance with no data this long is dropped (and clears)
    notifiers: tuple[NotifierConfig, ...] = ()
    actions: tuple[ActionConfig, ...] = ()

    def __post_init__(self) -> None:
        out: list[str] = []
        if not 0 <= self.default_hysteresis < 1:
            out.append(f"default_hysteresis: invalid value {self.default_hysteresis!r}: expected a fraction "
                       "from 0 to below 1")
        for section in ("rules", "notifiers", "actions"):
            out += [f"{section}[{i}]: invalid value {{}}: an empty item" for i, item in
                    enumerate(getattr(self, section)) if is_blank(item)]
        names: list[str] = []
        for i, rule in enumerate(self.rules):
            if rule.rule_name in names:
                out.append(f"rules[{i}].name: invalid value {rule.rule_name!r}: another rule has this name")
            names.append(rule.rule_name)
        seen: set[str] = set()
        for i, n in enumerate(self.notifiers):
            if n.notifier_name in seen:
                out.append(f"notifiers[{i}].name: invalid value {n.notifier_name!r}: another notifier has this name")
            seen.add(n.notifier_name)
            out += [f"notifiers[{i}].rules: invalid value {r!r}: no such rule{_hint(r, names)}"
                    for r in n.rules if r not in names]
        seen.clear()
        for i, a in enumerate(self.actions):
            if a.name in seen:
                out.append(f"actions[{i}].name: invalid value {a.name!r}: another action has this name")
            seen.add(a.name)
            out += [f"actions[{i}].rules: invalid value {r!r}: no such rule{_hint(r, names)}"
                    for r in a.rules if r not in names]
        if out:
            raise ValueError("\n".join(out))


def validate(health: HealthConfig, probes: Sequence[ProbeConfig], env: Mapping[str, str] | None = None,
             health_path: str = "health", probes_path: str = "probes") -> list[str]:
    """Checks across sections and against this host: probe names, secrets readable, actions executable."""
    from otel_mon.health.secrets import resolve_notifier

    env = os.environ if env is None else env
    out: list[str] = []
    probe_names: list[str] = []
    for i, probe in enumerate(probes):
        if is_blank(probe):
            out.append(f"{probes_path}[{i}]: invalid value {{}}: an empty item")
        if probe.name in probe_names:
            out.append(f"{probes_path}[{i}].name: invalid value {probe.name!r}: another probe has this name")
        probe_names.append(probe.name)
    for i, rule in enumerate(health.rules):
        if READINGS[rule.reading].probe and rule.instance not in (None, *probe_names):
            out.append(f"{health_path}.rules[{i}].instance: invalid value {rule.instance!r}: no probe with this "
                       f"name is configured{_hint(rule.instance or '', probe_names)}")
    for i, notifier in enumerate(health.notifiers):
        try:
            resolve_notifier(notifier, env)
        except ValueError as exc:
            out.append(f"{health_path}.notifiers[{i}].{exc}")
    for i, action in enumerate(health.actions):
        if action.command and shutil.which(action.command[0]) is None:
            out.append(f"{health_path}.actions[{i}].command: invalid value {action.command[0]!r}: no such "
                       "executable (an absolute path, or a name on PATH)")
    return out
