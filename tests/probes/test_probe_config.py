"""The probes section: one line per problem, fields of another kind rejected, the examples load."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from otel_mon import schema
from otel_mon.config import resolve_health
from otel_mon.health.config import HealthConfig
from otel_mon.health.config import validate as validate_sections
from otel_mon.probes.config import ProbeConfig, split_host_port
from otel_mon.schema import ConfigError


def validate(health: HealthConfig, probes: Sequence[ProbeConfig], env: Mapping[str, str]) -> list[str]:
    """The health checks the loader runs: across sections (no I/O), then on the host (secrets, programs)."""
    return validate_sections(health, probes) + resolve_health(health, env)[1]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass(frozen=True)
class Root:
    """How Settings holds the two sections."""

    health: HealthConfig = HealthConfig()
    probes: tuple[ProbeConfig, ...] = ()


def problems(raw: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as err:
        schema.build(Root, raw)
    return err.value.problems


def test_good_probes_build() -> None:
    root = schema.build(Root, {"probes": [
        {"name": "ssh", "kind": "tcp", "host": "10.0.0.1", "port": 22, "interval": "10s", "timeout": "2s"},
        {"name": "site", "kind": "http", "url": "https://example.org/health", "expect_status": [200, 204],
         "body_regex": "ok"},
        {"name": "resolver", "kind": "dns", "target": "example.org", "server": "[::1]:5353", "query_type": "AAAA"},
        {"name": "gw", "kind": "icmp", "host": "192.0.2.1"},
    ]})
    ssh, site, resolver, gw = root.probes
    assert (ssh.interval, ssh.timeout) == (10.0, 2.0)
    assert (site.server_address(), site.server_port()) == ("example.org", 443)
    assert (resolver.server_address(), resolver.server_port()) == ("::1", 5353)
    assert (gw.server_address(), gw.server_port()) == ("192.0.2.1", 0)


def test_each_problem_is_one_line_with_its_field() -> None:
    lines = problems({"probes": [
        {"name": "a", "kind": "htp", "url": "http://x"},
        {"name": "b", "kind": "http", "url": "ftp://x", "port": 80, "timeout": "40s", "interval": "30s"},
        {"name": "c", "kind": "tcp", "host": "x"},
        {"name": "d", "kind": "http", "url": "http://x/", "body_regex": "(", "expect_status": [99]},
        {"kind": "dns", "target": "x", "server": "x:99999"},
    ]})
    assert lines == [
        "probes[0].kind: invalid value 'htp': expected one of tcp, http, dns, icmp (did you mean 'http'?)",
        "probes[1].port: invalid value 80: only for kind tcp, not http",
        "probes[1].timeout: invalid value 40.0: must be above 0 and at most interval (30.0)",
        "probes[1].url: invalid value 'ftp://x': expected an http:// or https:// URL with a host",
        "probes[2].port: missing: required for kind tcp",
        "probes[3].expect_status: invalid value 99: expected HTTP status codes 100-599",
        "probes[3].body_regex: invalid value '(': missing ), unterminated subpattern at position 0",
        "probes[4].name: invalid value '': a probe needs a name (it labels its metrics)",
        "probes[4].server: invalid value 'x:99999': port '99999' is not 1-65535",
    ]


def test_split_host_port() -> None:
    assert split_host_port("1.1.1.1", 53) == ("1.1.1.1", 53)
    assert split_host_port("ns:5353", 53) == ("ns", 5353)
    assert split_host_port("[2001:db8::1]:853", 53) == ("2001:db8::1", 853)
    assert split_host_port("2001:db8::1", 53) == ("2001:db8::1", 53)


def test_duplicate_probe_names_and_rules_naming_unknown_probes() -> None:
    root = schema.build(Root, {
        "probes": [{"name": "web", "kind": "tcp", "host": "x", "port": 1},
                   {"name": "web", "kind": "tcp", "host": "y", "port": 2}],
        "health": {"rules": [{"reading": "probe.latency", "instance": "wbe", "warning": 10},
                             {"reading": "probe.failure", "instance": "web", "critical": 1}]},
    })
    assert validate(root.health, root.probes, env={}) == [
        "probes[1].name: invalid value 'web': another probe has this name",
        "health.rules[0].instance: invalid value 'wbe': no probe with this name is configured (did you mean 'web'?)",
    ]


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_examples_load_and_validate(path: Path) -> None:
    raw = yaml.safe_load(path.read_text())
    root = schema.build(Root, {k: v for k, v in raw.items() if k in ("health", "probes")})
    env = {"DISCORD_WEBHOOK_URL": "https://discord.example/api/webhooks/1/x",
           "SLACK_WEBHOOK_URL": "https://hooks.slack.example/services/T/B/x",
           "ALERTS_WEBHOOK_URL": "https://alerts.example/hook", "ALERTS_TOKEN": "t"}
    # the example's logrotate may not be installed on a test machine: that check is about the host, not the file
    found = [p for p in validate(root.health, root.probes, env=env) if "no such executable" not in p]
    assert found == []


def test_there_are_examples() -> None:
    assert {p.name for p in EXAMPLES.glob("*.yaml")} >= {"probes.yaml", "health.yaml"}
