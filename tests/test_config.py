from __future__ import annotations

from pathlib import Path

import pytest

from otel_mon import config
from otel_mon.config import ConfigError
from otel_mon.schema import parse_duration, parse_size, redacted


def problems(
    path: str | None = None, env: dict[str, str] | None = None, flags: dict[str, str] | None = None
) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config.load(path, env=env or {}, flags=flags)
    return info.value.problems


def test_defaults_need_no_file() -> None:
    s = config.load(env={})
    assert s.interval == 15.0
    assert (s.http.host, s.http.port) == ("127.0.0.1", 9464)
    assert s.resource.service_name == "otel-mon"
    assert s.collector_enabled("cpu") and not s.collector_enabled("connections")


def test_precedence_file_then_env_then_flags(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("interval: 30s\nhttp:\n  port: 9000\n  host: 0.0.0.0\nservice_name: from-file\n")
    s = config.load(f, env={})
    assert (s.interval, s.http.port, s.http.host, s.resource.service_name) == (30.0, 9000, "0.0.0.0", "from-file")
    env = {"OTEL_METRIC_EXPORT_INTERVAL": "2500", "OTEL_MON_HTTP__PORT": "9100", "OTEL_SERVICE_NAME": "env"}
    s = config.load(f, env=env)
    assert (s.interval, s.http.port, s.resource.service_name) == (2.5, 9100, "env")
    s = config.load(f, env=env, flags={"http.port": "9200", "interval": "100ms"})
    assert (s.interval, s.http.port, s.http.host) == (0.1, 9200, "0.0.0.0")


def test_every_problem_reported_with_field_and_value(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("intervall: 5s\nhttp: {port: 70000}\ncollectors: {cpux: true}\nmetrics: {system.cpu.tim: false}\n"
                 "filesystem: {timeout: soon}\n")
    got = problems(str(f))
    assert "intervall: unknown key (did you mean 'interval'?)" in got
    assert "http.port: invalid value 70000: expected 0-65535" in got
    assert "collectors.cpux: unknown collector (did you mean 'cpu'?)" in got
    assert "metrics.system.cpu.tim: unknown metric (did you mean 'system.cpu.time'?)" in got
    assert any(p.startswith("filesystem.timeout: invalid value 'soon'") for p in got)
    assert all("\n" not in p for p in got)


def test_interval_bounds_and_env_ms() -> None:
    assert config.load(env={"OTEL_METRIC_EXPORT_INTERVAL": "100"}).interval == 0.1
    assert problems(env={"OTEL_METRIC_EXPORT_INTERVAL": "50"}) == [
        "OTEL_METRIC_EXPORT_INTERVAL: invalid value '50': must be at least 100 (ms)"]
    assert config.load(env={"OTEL_METRIC_EXPORT_INTERVAL": ""}).interval == 15.0  # empty is unset (OTel spec)
    assert problems(env={"OTEL_METRIC_EXPORT_INTERVAL": "nan"}) == [
        "OTEL_METRIC_EXPORT_INTERVAL: invalid value 'nan': expected milliseconds"]
    assert any(p.startswith("interval: invalid value 0.05") for p in problems(flags={"interval": "50ms"}))
    assert problems(env={"OTEL_METRIC_EXPORT_INTERVAL": "soon"}) == [
        "OTEL_METRIC_EXPORT_INTERVAL: invalid value 'soon': expected milliseconds"]


def test_unknown_env_setting_is_an_error_but_test_switches_are_not() -> None:
    assert problems(env={"OTEL_MON_HTTP__PROT": "1"}) == [
        "OTEL_MON_HTTP__PROT: unknown setting 'http.prot' (did you mean 'OTEL_MON_HTTP__PORT'?)"]
    config.load(env={"OTEL_MON_REQUIRE_INTEGRATION": "1"})


def test_secret_from_file_and_redaction(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    s = config.load(env={"OTEL_MON_HTTP__TOKEN_FILE": str(token)})
    assert s.http.token == "s3cret"
    assert redacted(s)["http"]["token"] == "***"
    assert "s3cret" not in repr(redacted(s))
    assert problems(env={"OTEL_MON_HTTP__TOKEN_FILE": str(tmp_path / "nope")})[0].startswith(
        f"OTEL_MON_HTTP__TOKEN_FILE: {str(tmp_path / 'nope')!r} cannot be read")


def test_resource_attributes_env() -> None:
    s = config.load(env={"OTEL_RESOURCE_ATTRIBUTES": "a=1,b=x%20y"})
    assert s.resource.resource_attributes == {"a": "1", "b": "x y"}
    assert problems(env={"OTEL_RESOURCE_ATTRIBUTES": "novalue"})[0].startswith("OTEL_RESOURCE_ATTRIBUTES: invalid")


def test_yaml_errors_are_one_line(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("http: [unclosed\n")
    (line,) = problems(str(f))
    assert "not valid YAML" in line and "\n" not in line
    f.write_text("- a list\n")
    assert problems(str(f)) == [f"config: {str(f)!r}: expected a mapping at the top level, got list"]
    assert problems(str(tmp_path / "missing.yaml"))[0].startswith("config: cannot read")


def test_durations_and_sizes() -> None:
    assert parse_duration("500ms") == 0.5
    assert parse_duration("2m") == 120
    assert parse_duration(3) == 3.0
    assert parse_size("32MiB") == 32 * 1024 * 1024
    assert parse_size("1GB") == 10**9
    with pytest.raises(ValueError):
        parse_duration("-1s")
    with pytest.raises(ValueError):
        parse_size("lots")


def test_tls_needs_both_files() -> None:
    assert problems(flags={"http.tls_cert": "/x.pem"}) == [
        "http.tls_cert: invalid value: tls_cert and tls_key must be set together"]


def test_non_finite_and_huge_values_are_refused(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("interval: .nan\nfilesystem: {timeout: .inf}\nspool: {max_bytes: .inf}\n"
                 "connections:\n  interval: 999999999d\n")
    got = problems(str(f))
    assert "interval: invalid value nan: expected a finite duration that is not negative" in got
    assert "filesystem.timeout: invalid value inf: expected a finite duration that is not negative" in got
    assert "spool.max_bytes: invalid value inf: expected a finite size" in got
    assert "connections.interval: invalid value '999999999d': expected a duration of at most 365d" in got


def test_malformed_key_values_and_secrets_never_echoed(tmp_path: Path) -> None:
    assert problems(flags={"resource_attributes": "foo"}) == [
        "resource_attributes: invalid value 'foo': expected key=value pairs separated by commas"]
    got = problems(env={"OTEL_MON_OTLP__HEADERS": "Authorization Bearer SECRET123"})
    assert got == ["otlp.headers: invalid value '***': expected key=value pairs separated by commas"]
    f = tmp_path / "c.yaml"
    f.write_text("http: {token: [SECRET_TOKEN]}\n")
    assert problems(str(f)) == ["http.token: invalid value '***': expected a string"]


def test_unreadable_or_binary_files_are_one_line(tmp_path: Path) -> None:
    binary = tmp_path / "c.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert problems(str(binary)) == [f"config: cannot read {str(binary)!r}: not UTF-8 text"]
    assert problems(env={"OTEL_MON_HTTP__TOKEN_FILE": str(binary)}) == [
        f"OTEL_MON_HTTP__TOKEN_FILE: {str(binary)!r} is not UTF-8 text"]
    missing = str(tmp_path / "nope.pem")
    assert problems(flags={"http.tls_cert": missing, "http.tls_key": missing}) == [
        f"http.tls_cert: invalid value {missing!r}: not a readable file"]


def test_a_problem_quoting_huge_input_stays_one_short_line() -> None:
    """The reason of a problem may quote the input (OTEL_RESOURCE_ATTRIBUTES' bad pair): it is clipped too."""
    with pytest.raises(ConfigError) as err:
        config.load(None, env={"OTEL_RESOURCE_ATTRIBUTES": "k" * 5000 + "\n"})
    (line,) = err.value.problems
    assert line.startswith("OTEL_RESOURCE_ATTRIBUTES: invalid value ")
    assert "expected key=value pairs" in line
    assert "\n" not in line and len(line) < 600


def test_a_problem_in_one_of_several_files_names_that_file(tmp_path: Path) -> None:
    base, site = tmp_path / "base.yaml", tmp_path / "site.yaml"
    base.write_text("http: {port: 9100}\nhealth:\n  rules:\n    - {reading: cpu, warning: 80}\n"
                    "metrics: {system.cpu.time: false}\n")
    site.write_text("interval: 5s\nhttp: {port: 70000}\nmetrics: {system.cpu.tim: false}\n")
    got = problems([str(base), str(site)])  # type: ignore[arg-type]
    assert f"http.port: invalid value 70000: expected 0-65535 (set in {site})" in got
    assert f"metrics.system.cpu.tim: unknown metric (did you mean 'system.cpu.time'?) (set in {site})" in got
    # The same key from a flag is the flag's, not the file's.
    got = problems([str(base), str(site)], flags={"http.port": "80000"})  # type: ignore[arg-type]
    assert "http.port: invalid value 80000: expected 0-65535" in got
    # One file: the file is the one named on the command line, nothing is added.
    assert "http.port: invalid value 70000: expected 0-65535" in problems(str(site))
