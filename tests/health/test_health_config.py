"""The health section: seed defaults, one line per problem, references checked, secrets never shown."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from otel_mon import schema
from otel_mon.config import resolve_health
from otel_mon.health import DEFAULT_RULES, HealthConfig
from otel_mon.health.config import validate as validate_sections
from otel_mon.health.reading_specs import READINGS
from otel_mon.probes.config import ProbeConfig
from otel_mon.schema import ConfigError


def validate(health: HealthConfig, probes: Sequence[ProbeConfig], env: Mapping[str, str]) -> list[str]:
    """The health checks the loader runs: across sections (no I/O), then on the host (secrets, programs)."""
    return validate_sections(health, probes) + resolve_health(health, env)[1]


def problems(raw: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as err:
        schema.build(HealthConfig, raw, "health")
    return err.value.problems


def test_defaults_follow_the_seed() -> None:
    cfg = HealthConfig()
    table = {r.rule_name: (r.warning, r.critical) for r in cfg.rules}
    assert table == {"cpu": (75, 90), "memory": (75, 90), "filesystem": (80, 95), "temperature": (70, 85),
                     "probe.latency": (100, 250), "probe.failure": (None, 1),
                     "spool.dropped": (1, None), "systemd.failed": (1, None), "clock.max_error": (1, None)}
    assert cfg.rules == DEFAULT_RULES
    assert (cfg.default_for, cfg.default_hysteresis) == (120.0, 0.05)
    assert cfg.notifiers == () and cfg.actions == ()
    assert validate(cfg, [], env={}) == []


def test_rules_build_from_yaml_shapes() -> None:
    cfg = schema.build(HealthConfig, {"default_for": "30s", "rules": [
        {"reading": "filesystem", "instance": "/", "warning": "85", "critical": 97, "for_": "5m", "hysteresis": 0.02},
    ]})
    (rule,) = cfg.rules
    assert (rule.rule_name, rule.for_, rule.warning, cfg.default_for) == ("filesystem:/", 300.0, 85.0, 30.0)


def test_rules_accept_the_for_key() -> None:
    cfg = schema.build(HealthConfig, {"rules": [{"reading": "cpu", "warning": 80, "for": "2m"}]})
    assert cfg.rules[0].for_ == 120.0


def test_rule_problems_are_one_line_each() -> None:
    assert problems({"rules": [
        {"reading": "cpuu", "warning": 1},
        {"reading": "cpu"},
        {"reading": "memory", "warning": 90, "critical": 80},
        {"reading": "cpu", "instance": "cpu0", "warning": 50, "name": "cpu0"},
        {"reading": "load", "warning": 2, "hysteresis": 1.5},
        {},
        {"reading": "cpu", "warning": 70},
    ]}) == [
        # every reading the domains declare, in table order (a new domain's readings join the list)
        schema.invalid("health.rules[0].reading", "cpuu",
                       f"unknown reading; expected one of {', '.join(READINGS)} (did you mean 'cpu'?)"),
        "health.rules[1].warning: invalid value None: a rule needs a warning or a critical threshold (or both)",
        "health.rules[2].warning: invalid value 90.0: must be below critical (80.0)",
        "health.rules[3].instance: invalid value 'cpu0': cpu is host-wide and has no instances",
        "health.rules[4].hysteresis: invalid value 1.5: expected a fraction from 0 to below 1",
    ]


def test_a_reading_whose_low_values_are_the_trouble_wants_warning_above_critical() -> None:
    rules = schema.build(HealthConfig, {"rules": [{"reading": "memory.available", "warning": 20, "critical": 10}]})
    assert (rules.rules[0].warning, rules.rules[0].critical) == (20, 10)
    assert problems({"rules": [{"reading": "memory.available", "warning": 10, "critical": 20}]}) == [
        "health.rules[0].warning: invalid value 10.0: must be above critical (20.0): low memory.available is the "
        "trouble"]


def test_empty_items_and_duplicate_names() -> None:
    assert problems({"rules": [{}, {"reading": "cpu", "warning": 1}, {"reading": "cpu", "critical": 2}]}) == [
        "health.rules[0]: invalid value {}: an empty item",
        "health.rules[2].name: invalid value 'cpu': another rule has this name",
    ]


def test_notifiers_and_actions_must_name_existing_rules() -> None:
    assert problems({
        "notifiers": [{"kind": "discord", "url_env": "X", "rules": ["cpuu"]}],
        "actions": [{"name": "a", "rules": ["memroy"], "command": ["/bin/true"]}],
    }) == [
        "health.notifiers[0].rules: invalid value 'cpuu': no such rule (did you mean 'cpu'?)",
        "health.actions[0].rules: invalid value 'memroy': no such rule (did you mean 'memory'?)",
    ]


SECRET_URL = "https://discord.example/api/webhooks/42/very-secret-token"


def test_plaintext_webhook_url_is_refused_without_opt_in_and_never_echoed() -> None:
    lines = problems({"notifiers": [{"kind": "discord", "url": SECRET_URL}]})
    assert lines == ["health.notifiers[0].url: invalid value '***': a plaintext secret in the config file; use "
                     "url_env or url_file, or set allow_plaintext_secret: true"]
    cfg = schema.build(HealthConfig, {"notifiers": [{"kind": "discord", "url": SECRET_URL,
                                                     "allow_plaintext_secret": True}]})
    assert "very-secret-token" not in repr(schema.redacted(cfg))
    assert schema.redacted(cfg)["notifiers"][0]["url"] == "***"


def test_notifier_shape_problems() -> None:
    assert problems({"notifiers": [
        {"kind": "teams", "url_env": "X"},
        {"kind": "slack"},
        {"kind": "slack", "url_env": "A", "url_file": "/b"},
        {"kind": "discord", "url_env": "A", "token_env": "T"},
        {"kind": "webhook", "name": "w", "url_env": "A", "retries": -1, "queue_size": 0},
    ]}) == [
        "health.notifiers[0].kind: invalid value 'teams': expected one of discord, slack, webhook",
        "health.notifiers[1].url_env: invalid value None: name the environment variable (or url_file) holding "
        "the url",
        "health.notifiers[2].url_file: invalid value: set only one of url, url_env, url_file",
        "health.notifiers[3].token: invalid value '***': discord webhooks carry their secret in the URL; a token "
        "is for kind webhook",
        "health.notifiers[4].retries: invalid value -1: must not be negative",
        "health.notifiers[4].queue_size: invalid value 0: must be at least 1",
    ]


def test_secrets_are_checked_against_the_environment_and_files(tmp_path: Path) -> None:
    good = tmp_path / "url"
    good.write_text(SECRET_URL + "\n")
    bad = tmp_path / "bad"
    bad.write_text("not a url with very-secret-token")
    cfg = schema.build(HealthConfig, {"notifiers": [
        {"kind": "discord", "name": "a", "url_env": "HOOK"},
        {"kind": "slack", "name": "b", "url_env": "MISSING"},
        {"kind": "webhook", "name": "c", "url_file": str(good), "token_file": str(tmp_path / "nope")},
        {"kind": "webhook", "name": "d", "url_file": str(bad)},
    ]})
    lines = validate(cfg, [], env={"HOOK": SECRET_URL})
    assert lines == [
        "health.notifiers[1].url_env: invalid value 'MISSING': the environment variable is not set or empty",
        f"health.notifiers[2].token_file: invalid value '{tmp_path / 'nope'}': the file cannot be read: No such "
        "file or directory",
        f"health.notifiers[3].url_file: invalid value '{bad}': does not hold an http:// or https:// URL",
    ]
    assert all("very-secret-token" not in line for line in lines)


def test_action_command_must_be_an_argv_list_of_an_existing_program() -> None:
    assert problems({"rules": [{"reading": "cpu", "critical": 90}],
                     "actions": [{"name": "x", "rules": ["cpu"], "command": "systemctl restart nginx"},
                                 {"rules": ["cpu"]}]}) == [
        "health.actions[0].command: invalid value 'systemctl restart nginx': expected an argv list (no shell runs "
        "it): write each argument as its own list item",
        "health.actions[1].name: invalid value '': an action needs a name (it labels logs and metrics)",
        "health.actions[1].command: invalid value (): expected an argv list such as [/usr/bin/systemctl, restart, x]",
    ]
    cfg = schema.build(HealthConfig, {"rules": [{"reading": "cpu", "critical": 90}],
                                      "actions": [{"name": "x", "rules": ["cpu"],
                                                   "command": ["no-such-program-here", "-v"]}]})
    assert validate(cfg, [], env={}) == [
        "health.actions[0].command: invalid value 'no-such-program-here': no such executable (an absolute path, "
        "or a name on PATH)"]


def test_repr_of_settings_redacts_inline_notifier_secrets() -> None:
    from otel_mon.config import Settings

    settings = schema.build(Settings, {"health": {"notifiers": [
        {"kind": "webhook", "url": "https://hooks.example/SECRETPATH", "token": "TOKEN123",
         "allow_plaintext_secret": True}]}})
    for text in (repr(settings), str(settings), repr(settings.health.notifiers[0])):
        assert "SECRETPATH" not in text and "TOKEN123" not in text
        assert "url='***'" in text and "token='***'" in text and "kind='webhook'" in text
