"""The ``health`` section: rules, notifiers and actions, and the checks that span sections.

Every reference is checked at load time: an unknown reading, a probe that is not configured, a notifier or
action naming a rule that does not exist -- each is a config error, never a rule that silently stays ok.
Secrets and programs are looked up on the host afterwards, once (``otel_mon.config.resolve``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from otel_mon.health.reading_specs import READINGS
from otel_mon.probes.config import ProbeConfig, is_blank
from otel_mon.schema import Duration, Problem, check, did_you_mean, redacted, render, secret

NOTIFIER_KINDS = ("discord", "slack", "webhook")


@dataclass(frozen=True)
class RuleConfig:
    """Warning and critical thresholds on one reading; the state rises when the value is >= a threshold
    (<= for a reading whose low values are the trouble, ``ReadingSpec.low_is_bad``)."""

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
        out: list[Problem] = []
        spec = READINGS.get(self.reading)
        if spec is None:
            out.append(Problem("reading", f"unknown reading; expected one of {', '.join(READINGS)}"
                                          f"{did_you_mean(self.reading, READINGS)}", self.reading))
        elif self.instance not in (None, "") and not spec.instances:
            out.append(Problem("instance", f"{self.reading} is host-wide and has no instances", self.instance))
        if self.warning is None and self.critical is None:
            out.append(Problem("warning", "a rule needs a warning or a critical threshold (or both)", None))
        low_is_bad = spec is not None and spec.low_is_bad  # warning comes first on the way down
        if self.warning is not None and self.critical is not None and (
                self.warning <= self.critical if low_is_bad else self.warning >= self.critical):
            why = f"must be above critical ({self.critical!r}): low {self.reading} is the trouble" if low_is_bad \
                else f"must be below critical ({self.critical!r})"
            out.append(Problem("warning", why, self.warning))
        if self.hysteresis is not None and not 0 <= self.hysteresis < 1:
            out.append(Problem("hysteresis", "expected a fraction from 0 to below 1", self.hysteresis))
        check(self, out)

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
    # Lines the spool lost in the last interval (write errors, byte retention, a deleted directory): never normal.
    RuleConfig(reading="spool.dropped", warning=1),
    # A failed systemd unit (collectors.systemd on) is already a settled state: warn at once, naming the unit.
    RuleConfig(reading="systemd.failed", warning=1, for_=Duration(0.0)),
    # An unsynchronised clock: the kernel lets maxerror grow by 500 ppm up to 16 s once no NTP daemon updates
    # it, while a synchronised one stays in milliseconds. Past 1 s, log order across hosts, TLS validity and
    # token expiry start to go wrong; 5 minutes leaves an NTP daemon time to converge after boot.
    RuleConfig(reading="clock.max_error", warning=1, for_=Duration(300.0)),
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
    # With url_env: an unset or empty variable turns this notifier off instead of failing the config (a compose
    # file or a fleet's shared config lists the notifier, each host's environment decides).
    optional: bool = False
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
        out: list[Problem] = []
        if self.kind not in NOTIFIER_KINDS:
            out.append(Problem("kind", f"expected one of {', '.join(NOTIFIER_KINDS)}"
                                       f"{did_you_mean(self.kind, NOTIFIER_KINDS)}", self.kind))
        out += _secret_problems("url", self.url, self.url_env, self.url_file, self.allow_plaintext_secret, True)
        out += _secret_problems("token", self.token, self.token_env, self.token_file, self.allow_plaintext_secret,
                                False)
        if self.kind in ("discord", "slack") and (self.token or self.token_env or self.token_file):
            out.append(Problem("token", f"{self.kind} webhooks carry their secret in the URL; a token is for kind "
                                        "webhook", self.token))
        if self.url and self.allow_plaintext_secret and not self.url.startswith(("http://", "https://")):
            out.append(Problem("url", "expected an http:// or https:// URL", self.url))
        if self.optional and not self.url_env:
            out.append(Problem("optional", "applies to url_env only (an unset variable turns the notifier off)",
                               self.optional))
        if self.retries < 0:
            out.append(Problem("retries", "must not be negative", self.retries))
        if self.timeout <= 0:
            out.append(Problem("timeout", "must be above 0", self.timeout))
        if self.queue_size < 1:
            out.append(Problem("queue_size", "must be at least 1", self.queue_size))
        check(self, out)

    def __repr__(self) -> str:  # the default repr would show an inline url or token
        fields = ", ".join(f"{k}={v!r}" for k, v in redacted(self).items())
        return f"{type(self).__name__}({fields})"

    @property
    def notifier_name(self) -> str:
        return self.name or self.kind


def _secret_problems(field: str, inline: str | None, env: str | None, file: str | None, allow: bool,
                     required: bool) -> list[Problem]:
    given = [f for f, v in ((field, inline), (f"{field}_env", env), (f"{field}_file", file)) if v]
    if len(given) > 1:
        return [Problem(given[1], f"set only one of {field}, {field}_env, {field}_file")]
    if not given and required:
        return [Problem(f"{field}_env", f"name the environment variable (or {field}_file) holding the {field}", None)]
    if inline and not allow:
        return [Problem(field, f"a plaintext secret in the config file; use {field}_env or {field}_file, or set "
                               "allow_plaintext_secret: true", inline)]
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
        out: list[Problem] = []
        if not self.name.strip():
            out.append(Problem("name", "an action needs a name (it labels logs and metrics)", self.name))
        if not self.rules:
            out.append(Problem("rules", "name the rules whose critical state runs this action", self.rules))
        if not self.command:
            out.append(Problem("command", "expected an argv list such as [/usr/bin/systemctl, restart, x]",
                               self.command))
        elif len(self.command) == 1 and " " in self.command[0].strip() and not self.command[0].startswith("/"):
            # An absolute path may hold spaces; whether it exists is resolve()'s business (no I/O here).
            out.append(Problem("command", "expected an argv list (no shell runs it): write each argument as its "
                                          "own list item", self.command[0]))
        if self.timeout <= 0:
            out.append(Problem("timeout", "must be above 0", self.timeout))
        check(self, out)


@dataclass(frozen=True)
class TopProcessesConfig:
    """Name the busiest processes when a CPU, load or memory rule rises (``enabled: false`` to opt out)."""

    enabled: bool = True
    count: int = 5
    window: Duration = Duration(0.5)  # CPU is measured over this window, on the context thread

    def __post_init__(self) -> None:
        out: list[Problem] = []
        if not 1 <= self.count <= 50:
            out.append(Problem("count", "expected 1 to 50", self.count))
        if not 0.05 <= self.window <= 10:
            out.append(Problem("window", "expected 50ms to 10s", self.window))
        check(self, out)


def _unique(section: str, what: str, names: Sequence[str]) -> list[Problem]:
    """A problem for each item whose name an earlier item of ``section`` already has."""
    return [Problem(f"{section}[{i}].name", f"another {what} has this name", name)
            for i, name in enumerate(names) if name in names[:i]]


@dataclass(frozen=True)
class HealthConfig:
    rules: tuple[RuleConfig, ...] = DEFAULT_RULES
    default_for: Duration = Duration(120.0)
    default_hysteresis: float = 0.05
    forget_after: Duration = Duration(600.0)  # an instance with no data this long is dropped (and clears)
    notifiers: tuple[NotifierConfig, ...] = ()
    actions: tuple[ActionConfig, ...] = ()
    top_processes: TopProcessesConfig = TopProcessesConfig()

    def __post_init__(self) -> None:
        out: list[Problem] = []
        if not 0 <= self.default_hysteresis < 1:
            out.append(Problem("default_hysteresis", "expected a fraction from 0 to below 1", self.default_hysteresis))
        for section in ("rules", "notifiers", "actions"):
            out += [Problem(f"{section}[{i}]", "an empty item", {}) for i, item in
                    enumerate(getattr(self, section)) if is_blank(item)]
        names = [rule.rule_name for rule in self.rules]
        out += _unique("rules", "rule", names)
        out += _unique("notifiers", "notifier", [n.notifier_name for n in self.notifiers])
        out += _unique("actions", "action", [a.name for a in self.actions])
        refs: list[tuple[str, Sequence[tuple[str, ...]]]] = [
            ("notifiers", [n.rules for n in self.notifiers]), ("actions", [a.rules for a in self.actions])]
        for section, rules in refs:
            out += [Problem(f"{section}[{i}].rules", f"no such rule{did_you_mean(r, names)}", r)
                    for i, named in enumerate(rules) for r in named if r not in names]
        check(self, out)


def validate(health: HealthConfig, probes: Sequence[ProbeConfig], health_path: str = "health",
             probes_path: str = "probes") -> list[str]:
    """Checks across the health and probes sections (no I/O: secrets and programs are resolve()'s)."""
    out: list[str] = []
    probe_names: list[str] = []
    for i, probe in enumerate(probes):
        if is_blank(probe):
            out.append(render(f"{probes_path}[{i}]", Problem("", "an empty item", {})))
        if probe.name in probe_names:
            out.append(render(f"{probes_path}[{i}].name", Problem("", "another probe has this name", probe.name)))
        probe_names.append(probe.name)
    for i, rule in enumerate(health.rules):
        if READINGS[rule.reading].probe and rule.instance not in (None, *probe_names):
            out.append(render(f"{health_path}.rules[{i}].instance", Problem(
                "", f"no probe with this name is configured{did_you_mean(rule.instance or '', probe_names)}",
                rule.instance)))
    return out
