"""The ``otlp`` settings: endpoint rules, validation, and the OTEL_EXPORTER_OTLP_* variables."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from otel_mon import schema
from otel_mon.forward.config import OtlpConfig, Transport, for_signal, resolve
from otel_mon.forward.otlp_env import otlp_from_env


def _build(raw: dict[str, object]) -> OtlpConfig:
    return schema.build(OtlpConfig, raw)


@pytest.mark.parametrize(
    ("raw", "signal", "address", "secure"),
    [
        ({"endpoint": "http://collector:4318"}, "metrics", "http://collector:4318/v1/metrics", False),
        ({"endpoint": "http://collector:4318/"}, "logs", "http://collector:4318/v1/logs", False),
        ({"endpoint": "https://otlp.example.com/otlp"}, "logs", "https://otlp.example.com/otlp/v1/logs", True),
        ({"endpoint": "collector"}, "metrics", "https://collector:4318/v1/metrics", True),
        ({"endpoint": "collector", "insecure": True}, "metrics", "http://collector:4318/v1/metrics", False),
        ({"endpoint": "http://c:4318", "metrics": {"endpoint": "http://m:9/custom"}}, "metrics", "http://m:9/custom",
         False),
        ({"endpoint": "http://c:4318", "metrics": {"endpoint": "http://m:9"}}, "metrics", "http://m:9/", False),
        ({"endpoint": "http://collector", "protocol": "grpc"}, "metrics", "collector:4317", False),
        ({"endpoint": "https://collector", "protocol": "grpc"}, "logs", "collector:443", True),
        ({"endpoint": "collector:5317", "protocol": "grpc", "insecure": True}, "logs", "collector:5317", False),
        ({"endpoint": "collector", "protocol": "grpc"}, "logs", "collector:4317", True),
        ({"endpoint": "http://[::1]:4317", "protocol": "grpc"}, "logs", "[::1]:4317", False),
        ({"endpoint": "http://c:4318", "logs": {"protocol": "grpc"}}, "logs", "c:4318", False),
    ],
)
def test_endpoint_rules(raw: dict[str, object], signal: str, address: str, secure: bool) -> None:
    target = resolve(_build(raw), signal)  # type: ignore[arg-type]
    assert target is not None
    assert (target.address, target.secure) == (address, secure)


def test_per_signal_settings_inherit_and_override() -> None:
    config = _build({"endpoint": "http://c:4318", "headers": {"a": "1", "b": "2"}, "timeout": "2s",
                     "logs": {"headers": {"b": "3"}, "compression": "none", "timeout": "500ms"}})
    logs, metrics = resolve(config, "logs"), resolve(config, "metrics")
    assert logs is not None and metrics is not None
    assert dict(logs.headers) == {"a": "1", "b": "3"} and dict(metrics.headers) == {"a": "1", "b": "2"}
    assert (logs.compression, logs.timeout) == ("none", 0.5)
    assert (metrics.compression, metrics.timeout) == ("gzip", 2.0)


def test_problems_are_one_line_each_without_secrets() -> None:
    with pytest.raises(schema.ConfigError) as info:
        schema.build(OtlpConfig, {"otlp": {"endpoint": "ftp://x", "protocol": "grcp", "timeout": 0,
                                           "headers": {"bad name": "v", "ok": "tok\nen"},
                                           "metrics": {"endpoint": "https://user:pw@host"},
                                           "backoff_initial": "2s", "backoff_max": "1s"}}["otlp"], "otlp")
    problems = info.value.problems
    assert any(p.startswith("otlp.protocol: invalid value 'grcp'") and "did you mean 'grpc'" in p for p in problems)
    assert any(p.startswith("otlp.endpoint: invalid value 'ftp://x'") for p in problems)
    assert any(p.startswith("otlp.timeout:") for p in problems)
    assert any(p.startswith("otlp.headers.bad name:") for p in problems)
    assert any(p.startswith("otlp.backoff_max:") for p in problems)
    assert any(p.startswith("otlp.metrics.endpoint: invalid value 'https://host'") for p in problems)
    assert all("\n" not in p for p in problems)
    assert "tok" not in "".join(problems) and "pw" not in "".join(problems)


def test_headers_are_redacted() -> None:
    config = _build({"endpoint": "http://c", "headers": {"authorization": "Bearer x"},
                     "logs": {"headers": {"k": "v"}}})
    view = schema.redacted(config)
    assert view["headers"] == "***" and view["logs"]["headers"] == "***"
    assert "Bearer" not in repr(resolve(config, "metrics"))
    assert "Bearer" not in repr(config) and "'k': 'v'" not in repr(config) and "http://c" in repr(config)


def test_env_translation() -> None:
    raw, problems = otlp_from_env({
        "OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector:4318",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20abc,x-scope-orgid=tenant%3D1",
        "OTEL_EXPORTER_OTLP_COMPRESSION": "GZIP",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "2500",
        "OTEL_EXPORTER_OTLP_CERTIFICATE": "/etc/ca.pem",
        "OTEL_EXPORTER_OTLP_INSECURE": "false",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://metrics:9/v1/m",
        "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT": "100",
        "OTEL_EXPORTER_OTLP_LOGS_HEADERS": "",  # empty = unset
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://ignored",
    })
    assert problems == []
    assert raw == {
        "endpoint": "https://collector:4318", "protocol": "http/protobuf",
        "headers": {"authorization": "Bearer abc", "x-scope-orgid": "tenant=1"}, "compression": "gzip",
        "timeout": 2.5, "certificate": "/etc/ca.pem", "insecure": False,
        "metrics": {"endpoint": "http://metrics:9/v1/m"}, "logs": {"protocol": "grpc", "timeout": 0.1},
    }
    config = _build(raw)
    metrics, logs = resolve(config, "metrics"), resolve(config, "logs")
    assert metrics is not None and logs is not None
    assert metrics.address == "http://metrics:9/v1/m"  # signal-specific: as it is
    assert (logs.protocol, logs.address, logs.timeout) == ("grpc", "collector:4318", 0.1)


def test_env_problems_name_the_variable_and_never_echo_headers() -> None:
    raw, problems = otlp_from_env({
        "OTEL_EXPORTER_OTLP_ENDPOINT": "ftp://x",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/xml",
        "OTEL_EXPORTER_OTLP_HEADERS": "authorization",
        "OTEL_EXPORTER_OTLP_METRICS_HEADERS": "good=1,Bearer-secret-token",
        "OTEL_EXPORTER_OTLP_COMPRESSION": "zstd",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "10s",
        "OTEL_EXPORTER_OTLP_LOGS_INSECURE": "maybe",
    })
    assert raw == {}
    assert [p.split(":")[0] for p in problems] == [
        "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
        "OTEL_EXPORTER_OTLP_LOGS_INSECURE",
    ]
    assert "'10s'" in problems[4] and "'zstd'" in problems[3]
    assert not any("secret" in p or "authorization" in p for p in problems)


@pytest.mark.parametrize("value", ["s3cr3t-tok\tX", "s3cr3t-tök", "s3cr3t-tok\x7f"])
def test_grpc_header_values_must_be_printable_ascii(value: str) -> None:
    with pytest.raises(schema.ConfigError) as info:
        schema.build(OtlpConfig, {"endpoint": "http://c:4317", "protocol": "grpc",
                                  "headers": {"x-api-key": value}}, "otlp")
    problems = info.value.problems
    assert any(p.startswith("otlp.headers.x-api-key:") for p in problems)
    assert all("\n" not in p for p in problems) and "s3cr3t" not in "".join(problems)
    # the same value is left to HTTP, whose client accepts Latin-1 (and tabs)
    _build({"endpoint": "http://c:4318", "headers": {"x-api-key": "s3cr3t-tok\tX"}})


def test_grpc_header_names_and_per_signal_protocol() -> None:
    with pytest.raises(schema.ConfigError) as info:
        _build({"endpoint": "http://c:4318", "headers": {"x:key": "v"}, "logs": {"protocol": "grpc"}})
    assert any("headers.x:key:" in p for p in info.value.problems)
    with pytest.raises(schema.ConfigError) as info:
        _build({"endpoint": "http://c:4317", "protocol": "grpc", "metrics": {"headers": {"k": "sécret"}}})
    assert any(p.startswith("metrics.headers.k:") for p in info.value.problems)
    assert "sécret" not in "".join(info.value.problems)
    assert resolve(_build({"endpoint": "http://c:4317", "protocol": "grpc",
                           "headers": {"Authorization": "Bearer a.b-c_d="}}), "metrics") is not None


# One row per Transport field: the section's value, a signal's value (YAML), the same as an environment variable.
# A field added to Transport without a row here fails the tests below.
_PER_SIGNAL = {
    "endpoint": ("http://c:4318", "http://l:4318/x", "http://l:4318/x"),
    "protocol": ("http/protobuf", "grpc", "grpc"),
    "headers": ({"a": "1", "b": "2"}, {"b": "3"}, "b=3"),
    "compression": ("gzip", "none", "none"),
    "timeout": ("2s", "500ms", "500"),
    "certificate": ("/ca.pem", "/logs-ca.pem", "/logs-ca.pem"),
    "client_certificate": ("/c.pem", "/logs-c.pem", "/logs-c.pem"),
    "client_key": ("/c.key", "/logs-c.key", "/logs-c.key"),
    "insecure": (False, True, "true"),
}


def test_transport_fields_are_declared_once() -> None:
    names = [f.name for f in dataclasses.fields(Transport)]
    assert sorted(_PER_SIGNAL) == sorted(names), "a Transport field needs a row in _PER_SIGNAL"
    section = [f.name for f in dataclasses.fields(OtlpConfig)]
    assert section[:len(names)] == names  # the section's own keys, in the same order, from the one declaration
    signal_hints, section_hints = typing.get_type_hints(Transport), typing.get_type_hints(OtlpConfig)
    for name in names:  # the section may only drop None (give a default), never change a field's type
        assert section_hints[name] in (signal_hints[name], *(t for t in typing.get_args(signal_hints[name])
                                                               if t is not type(None))), name
    for signal in ("metrics", "logs"):
        assert section_hints[signal] is Transport


@pytest.mark.parametrize("name", sorted(_PER_SIGNAL))
def test_a_signal_overrides_each_transport_field_and_inherits_the_rest(name: str) -> None:
    section = {key: value for key, (value, _, _) in _PER_SIGNAL.items()}
    mine = _PER_SIGNAL[name][1]
    config = _build({**section, "logs": {name: mine}})
    logs, metrics, plain = for_signal(config, "logs"), for_signal(config, "metrics"), _build(section)
    want = getattr(_build({**section, name: mine}), name)
    if isinstance(want, dict):
        want = {**getattr(plain, name), **want}  # headers merge key by key
    assert getattr(logs, name) == want
    for other in _PER_SIGNAL:
        assert getattr(metrics, other) == getattr(plain, other)
        if other != name:
            assert getattr(logs, other) == getattr(plain, other)
    assert logs.logs == logs.metrics == metrics.logs == Transport()  # nothing per-signal left to apply


@pytest.mark.parametrize("name", sorted(_PER_SIGNAL))
def test_each_transport_field_has_its_signal_variable(name: str) -> None:
    variable = f"OTEL_EXPORTER_OTLP_LOGS_{name.upper()}"
    raw, problems = otlp_from_env({variable: _PER_SIGNAL[name][2]})
    assert problems == []
    from_yaml = _build({"logs": {name: _PER_SIGNAL[name][1]}}).logs
    assert _build(raw).logs == from_yaml
