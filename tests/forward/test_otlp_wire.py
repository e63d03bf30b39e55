"""The forwarder's own protobuf encoder gives the official encoding, byte for byte.

The oracle is protobuf itself: ``json_format.ParseDict`` into the opentelemetry-proto request and
``SerializeToString`` (what the forwarder did before; hex ids turned to base64 first, as it did). Inputs: the
agent's own batches of a fixture host through the official OTLP-JSON encoder, the edge batch shared with the
exposition tests, log records, a hand-written object touching every field of every message, and random
objects from hypothesis.
"""

from __future__ import annotations

import base64
import copy
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fwdkit import logs_line, metrics_line
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.json.common.metrics_encoder import encode_metrics as official_metrics
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from otel_mon.forward.otlp_wire import WireError, encode_logs, encode_metrics
from otel_mon.forward.requests import MalformedLine, frame_json, parse_json_line, parse_line
from tests.batches import agent_batches, odd_batch

NS = 1_796_600_000_123_456_789


def oracle(obj: dict[str, Any]) -> bytes:
    """protobuf's own encoding of the JSON object (ids hex -> base64, as protobuf's JSON wants them)."""
    data = copy.deepcopy(obj)

    def fix(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("traceId", "spanId"):
                value = node.get(key)
                if isinstance(value, str) and len(value) in (16, 32):
                    node[key] = base64.b64encode(bytes.fromhex(value)).decode()
            for value in node.values():
                fix(value)
        elif isinstance(node, list):
            for value in node:
                fix(value)

    fix(data)
    message = ExportMetricsServiceRequest() if "resourceMetrics" in data else ExportLogsServiceRequest()
    json_format.ParseDict(data, message, ignore_unknown_fields=True)
    return bytes(message.SerializeToString())


def ours(obj: dict[str, Any]) -> bytes:
    encode = encode_metrics if "resourceMetrics" in obj else encode_logs
    return encode(json.loads(json.dumps(obj)))[0]


def same(obj: dict[str, Any]) -> None:
    assert ours(obj) == oracle(obj)


def test_the_agents_own_batches_encode_as_protobuf_does(fake_root: Callable[[str], Path]) -> None:
    count = 0
    for _telemetry, batch in agent_batches(fake_root("host1"), count=3):
        obj = official_metrics(batch).to_dict()
        same(obj)
        count += sum(1 for rm in obj["resourceMetrics"] for sm in rm["scopeMetrics"] for m in sm["metrics"])
    assert count > 100  # every domain of the fixture host, three collections


def test_the_edge_batch_encodes_as_protobuf_does() -> None:
    for value in (1.0, -0.0, 0.0, 2.5e-300, 1e300, math.nan, math.inf):
        same(official_metrics(odd_batch(value)).to_dict())


def test_test_lines_and_their_counts() -> None:
    for seq in range(5):
        line = metrics_line(seq, points=seq + 1)
        same(json.loads(line))
        record = parse_line("metrics", line.encode())
        first = json.loads(line)["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["gauge"]["dataPoints"][0]
        assert record.points == seq + 1 and record.raw == line.encode()
        assert record.timestamp == int(first["timeUnixNano"]) / 1e9
        same(json.loads(logs_line(seq, trace_id=seq + 1, span_id=0xFFFFFFFFFFFFFFFF - seq)))


def _kv(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "value": value}


EVERY_FIELD: dict[str, Any] = {"resourceMetrics": [{
    "resource": {"attributes": [
        _kv("s", {"stringValue": "x"}), _kv("empty", {"stringValue": ""}), _kv("b", {"boolValue": False}),
        _kv("i", {"intValue": "-5"}), _kv("i2", {"intValue": 9223372036854775807}), _kv("d", {"doubleValue": 0}),
        _kv("nan", {"doubleValue": "NaN"}), _kv("inf", {"doubleValue": "-Infinity"}), _kv("none", {}),
        _kv("bytes", {"bytesValue": "AAEC/w=="}),
        _kv("arr", {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "1"}, {}]}}),
        _kv("kv", {"kvlistValue": {"values": [_kv("n", {"kvlistValue": {}}), _kv("m", {"arrayValue": {}})]}}),
        _kv("ünï", {"stringValue": "ü\u2028\x00"})],
        "droppedAttributesCount": 3,
        "entityRefs": [{"schemaUrl": "u", "type": "host", "idKeys": ["host.id", ""], "descriptionKeys": []}]},
    "scopeMetrics": [{
        "scope": {"name": "s", "version": "", "attributes": [_kv("k", {"stringValue": "v"})],
                  "droppedAttributesCount": 0},
        "metrics": [
            {"name": "g", "description": "d", "unit": "1", "gauge": {"dataPoints": [
                {"attributes": [], "startTimeUnixNano": "0", "timeUnixNano": str(NS), "asDouble": -0.0, "flags": 1},
                {"timeUnixNano": NS, "asInt": "-9223372036854775808", "exemplars": [
                    {"filteredAttributes": [_kv("f", {"stringValue": "1"})], "timeUnixNano": str(NS),
                     "asDouble": 1.5, "spanId": "b7ad6b7169203331", "traceId": "0af7651916cd43dd8448eb211c80319c"},
                    {"asInt": "0", "spanId": "AAAAAAAAAAA=", "traceId": ""}]},
                {"asDouble": 0}, {}]},
             "metadata": [_kv("m", {"stringValue": "x"})]},
            {"name": "s", "sum": {"dataPoints": [{"asInt": 7}], "aggregationTemporality": 2, "isMonotonic": True}},
            {"name": "s2", "sum": {"aggregationTemporality": "AGGREGATION_TEMPORALITY_DELTA", "isMonotonic": False}},
            {"name": "s3", "sum": {"aggregationTemporality": "AGGREGATION_TEMPORALITY_SOMETIMES"}},  # ignored
            {"name": "h", "histogram": {"aggregationTemporality": "AGGREGATION_TEMPORALITY_CUMULATIVE",
                                        "dataPoints": [
                {"attributes": [_kv("le", {"stringValue": "x"})], "startTimeUnixNano": "1", "timeUnixNano": "2",
                 "count": "18446744073709551615", "sum": 0, "bucketCounts": ["1", 0, "3"],
                 "explicitBounds": [0.1, "Infinity"], "flags": 0, "min": 0.0, "max": -1e-310},
                {"count": 0, "bucketCounts": [], "explicitBounds": []}]}},
            {"name": "e", "exponentialHistogram": {"aggregationTemporality": 1, "dataPoints": [
                {"attributes": [], "count": "3", "sum": 1.0, "scale": -3, "zeroCount": "1",
                 "positive": {"offset": -2, "bucketCounts": ["1", "300"]}, "negative": {},
                 "flags": 1, "min": -1, "max": 2, "zeroThreshold": 1e-9},
                {"scale": 20, "positive": {"offset": 2147483647}, "zeroThreshold": 0}]}},
            {"name": "q", "summary": {"dataPoints": [
                {"count": "2", "sum": 0.0, "quantileValues": [{"quantile": 0, "value": 1}, {"quantile": 1.0}],
                 "flags": 1, "attributes": [_kv("z", {"boolValue": True})]}]}},
            {"name": "", "unknownKind": {"x": 1}},
        ],
        "schemaUrl": "https://opentelemetry.io/schemas/1.44.0"}, {"scope": {}}, {}],
    "schemaUrl": ""}, {"resource": {}}, {}], "unknownTopLevel": [1, 2]}

EVERY_LOG_FIELD: dict[str, Any] = {"resourceLogs": [{
    "resource": {"attributes": [_kv("service.name", {"stringValue": "otel-mon"})]},
    "scopeLogs": [{"scope": {"name": "otel_mon"}, "logRecords": [
        {"timeUnixNano": str(NS), "observedTimeUnixNano": str(NS + 1), "severityNumber": "SEVERITY_NUMBER_WARN3",
         "severityText": "WARNING", "body": {"stringValue": "disk full"}, "attributes": [
             _kv("code.lineno", {"intValue": "42"})], "droppedAttributesCount": 1, "flags": 4294967295,
         "traceId": "0AF7651916CD43DD8448EB211C80319C", "spanId": "b7ad6b7169203331", "eventName": "x.y"},
        {"observedTimeUnixNano": "5", "severityNumber": 24, "body": {"kvlistValue": {"values": [
            _kv("a", {"arrayValue": {"values": [{"doubleValue": 1.25}]}})]}}, "flags": 0},
        {"severityNumber": "SEVERITY_NUMBER_UNSPECIFIED", "body": {}},
        {}], "schemaUrl": "s"}]}]}


def test_every_field_of_every_message_encodes_as_protobuf_does() -> None:
    same(EVERY_FIELD)
    same(EVERY_LOG_FIELD)
    _, points, first = encode_metrics(json.loads(json.dumps(EVERY_FIELD)))
    assert (points, first) == (10, NS)
    _, records, first = encode_logs(json.loads(json.dumps(EVERY_LOG_FIELD)))
    assert (records, first) == (4, NS)


def test_snake_case_field_names_read_as_protobuf_reads_them() -> None:
    def snake(node: Any) -> Any:
        if isinstance(node, dict):
            return {"".join(f"_{c.lower()}" if c.isupper() else c for c in k): snake(v) for k, v in node.items()}
        return [snake(v) for v in node] if isinstance(node, list) else node

    line = json.dumps(snake(json.loads(metrics_line(3, points=2)))).encode()
    assert b"resource_metrics" in line and b"time_unix_nano" in line
    assert parse_line("metrics", line).payload == oracle(json.loads(metrics_line(3, points=2)))


@pytest.mark.parametrize("broken", [
    {"resourceMetrics": {"not": "a list"}},
    {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": 5}]}]}]},
    {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "x", "gauge": {"dataPoints": [
        {"asDouble": "many"}]}}]}]}]},
    {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "x", "gauge": {"dataPoints": [
        {"timeUnixNano": "-1"}]}}]}]}]},
    {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "x", "sum": {"dataPoints": [],
                                                                              "isMonotonic": "yes"}}]}]}]},
    {"resourceMetrics": [{"resource": {"attributes": [{"key": "k", "value": {"intValue": "1.5"}}]}}]},
    {"resourceMetrics": [{"resource": {"attributes": [{"key": ["k"], "value": {"stringValue": "v"}}]}}]},
    {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "x", "histogram": {"dataPoints": [
        {"bucketCounts": "12"}]}}]}]}]},
])
def test_what_protobuf_refuses_is_refused(broken: dict[str, Any]) -> None:
    with pytest.raises((json_format.ParseError, TypeError, ValueError)):
        oracle(broken)
    with pytest.raises(WireError):
        encode_metrics(broken)
    with pytest.raises(MalformedLine):
        parse_line("metrics", json.dumps(broken).encode())


def test_a_wrong_signal_or_non_object_is_malformed() -> None:
    for line, signal in ((metrics_line(1), "logs"), (logs_line(1), "metrics"), ("[1, 2]", "metrics"),
                         ("{not json", "metrics")):
        with pytest.raises(MalformedLine):
            parse_line(signal, line.encode())  # type: ignore[arg-type]
        with pytest.raises(MalformedLine):
            parse_json_line(signal, line.encode())  # type: ignore[arg-type]


def test_http_json_sends_the_lines_text_as_it_is() -> None:
    lines = [metrics_line(i, points=2).encode() for i in range(3)]
    records = [parse_json_line("metrics", line + b"\n") for line in lines]
    body = frame_json("metrics", [r.payload for r in records])
    merged = json.loads(body)
    assert merged["resourceMetrics"] == [json.loads(line)["resourceMetrics"][0] for line in lines]
    assert all(r.payload in line for r, line in zip(records, lines, strict=True))  # cut, not re-written
    assert [r.points for r in records] == [2, 2, 2]
    # A line written another way (spaces, a second key) is re-serialized, not cut.
    spaced = json.dumps(json.loads(lines[0]), indent=1).encode()
    assert json.loads(frame_json("metrics", [parse_json_line("metrics", spaced).payload])) == json.loads(lines[0])
    logs = parse_json_line("logs", logs_line(4).encode())
    assert json.loads(frame_json("logs", [logs.payload])) == json.loads(logs_line(4))
    assert logs.points == 1 and logs.timestamp is not None


# ------------------------------------------------------------------------------------------ random objects

_ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_u64 = st.integers(min_value=0, max_value=2**64 - 1)
_doubles = st.floats(allow_nan=True, allow_infinity=True)
_text = st.text(max_size=8)
_int_json = st.one_of(_ints.map(str), st.integers(min_value=-(2**53), max_value=2**53))
_u64_json = st.one_of(_u64.map(str), st.integers(min_value=0, max_value=2**53))


def _double_json(value: float) -> Any:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


_dbl = _doubles.map(_double_json)
_any_value = st.recursive(
    st.one_of(st.fixed_dictionaries({"stringValue": _text}), st.fixed_dictionaries({"boolValue": st.booleans()}),
              st.fixed_dictionaries({"intValue": _int_json}), st.fixed_dictionaries({"doubleValue": _dbl}),
              st.fixed_dictionaries({"bytesValue": st.binary(max_size=6).map(lambda b: base64.b64encode(b).decode())}),
              st.just({})),
    lambda inner: st.one_of(
        st.fixed_dictionaries({"arrayValue": st.fixed_dictionaries({"values": st.lists(inner, max_size=3)})}),
        st.fixed_dictionaries({"kvlistValue": st.fixed_dictionaries({"values": st.lists(
            st.fixed_dictionaries({"key": _text, "value": inner}), max_size=3)})})),
    max_leaves=6)
_attrs = st.lists(st.fixed_dictionaries({"key": _text, "value": _any_value}), max_size=4)


def _opt(**fields: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


_number_point = _opt(attributes=_attrs, startTimeUnixNano=_u64_json, timeUnixNano=_u64_json,
                     flags=st.integers(0, 2**32 - 1),
                     exemplars=st.lists(_opt(timeUnixNano=_u64_json, asDouble=_dbl, spanId=st.binary(
                         min_size=8, max_size=8).map(bytes.hex), traceId=st.binary(min_size=16, max_size=16).map(
                         bytes.hex)), max_size=2)).flatmap(
    lambda p: st.one_of(st.just(p), _dbl.map(lambda v: {**p, "asDouble": v}),
                        _int_json.map(lambda v: {**p, "asInt": v})))
_histogram_point = _opt(attributes=_attrs, timeUnixNano=_u64_json, count=_u64_json, sum=_dbl,
                        bucketCounts=st.lists(_u64_json, max_size=4), explicitBounds=st.lists(_dbl, max_size=3),
                        min=_dbl, max=_dbl, flags=st.integers(0, 3))
_exponential_point = _opt(count=_u64_json, sum=_dbl, scale=st.integers(-(2**31), 2**31 - 1), zeroCount=_u64_json,
                          positive=_opt(offset=st.integers(-(2**31), 2**31 - 1), bucketCounts=st.lists(_u64_json,
                                                                                                      max_size=3)),
                          negative=_opt(offset=st.integers(-5, 5)), zeroThreshold=_dbl, min=_dbl, max=_dbl)
_summary_point = _opt(count=_u64_json, sum=_dbl, quantileValues=st.lists(_opt(quantile=_dbl, value=_dbl), max_size=3),
                      attributes=_attrs)
_temporality = st.sampled_from([0, 1, 2, "AGGREGATION_TEMPORALITY_DELTA", "AGGREGATION_TEMPORALITY_CUMULATIVE"])
_metric = st.fixed_dictionaries({"name": _text}, optional={"description": _text, "unit": _text}).flatmap(
    lambda m: st.one_of(
        st.fixed_dictionaries({"gauge": _opt(dataPoints=st.lists(_number_point, max_size=3))}),
        st.fixed_dictionaries({"sum": _opt(dataPoints=st.lists(_number_point, max_size=3),
                                           aggregationTemporality=_temporality, isMonotonic=st.booleans())}),
        st.fixed_dictionaries({"histogram": _opt(dataPoints=st.lists(_histogram_point, max_size=2),
                                                 aggregationTemporality=_temporality)}),
        st.fixed_dictionaries({"exponentialHistogram": _opt(dataPoints=st.lists(_exponential_point, max_size=2),
                                                            aggregationTemporality=_temporality)}),
        st.fixed_dictionaries({"summary": _opt(dataPoints=st.lists(_summary_point, max_size=2))}),
    ).map(lambda data: {**m, **data}))
_scope = _opt(name=_text, version=_text, attributes=_attrs, droppedAttributesCount=st.integers(0, 2**32 - 1))
_metrics_data = st.fixed_dictionaries({"resourceMetrics": st.lists(_opt(
    resource=_opt(attributes=_attrs, droppedAttributesCount=st.integers(0, 9)),
    scopeMetrics=st.lists(_opt(scope=_scope, metrics=st.lists(_metric, max_size=3), schemaUrl=_text), max_size=2),
    schemaUrl=_text), max_size=2)})
_log_record = _opt(timeUnixNano=_u64_json, observedTimeUnixNano=_u64_json, severityNumber=st.integers(0, 24),
                   severityText=_text, body=_any_value, attributes=_attrs, droppedAttributesCount=st.integers(0, 3),
                   flags=st.integers(0, 2**32 - 1), traceId=st.binary(min_size=16, max_size=16).map(bytes.hex),
                   spanId=st.binary(min_size=8, max_size=8).map(bytes.hex), eventName=_text)
_logs_data = st.fixed_dictionaries({"resourceLogs": st.lists(_opt(
    resource=_opt(attributes=_attrs),
    scopeLogs=st.lists(_opt(scope=_scope, logRecords=st.lists(_log_record, max_size=3), schemaUrl=_text),
                       max_size=2)), max_size=2)})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_metrics_data)
def test_random_metrics_encode_as_protobuf_does(data: dict[str, Any]) -> None:
    same(data)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_logs_data)
def test_random_logs_encode_as_protobuf_does(data: dict[str, Any]) -> None:
    same(data)


def test_the_caches_follow_changing_values() -> None:
    # Attribute and timestamp encodings are cached across lines: new values must never reuse an old entry.
    for seq in range(3):
        obj = json.loads(metrics_line(seq, points=3))
        obj["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["gauge"]["dataPoints"][0]["attributes"] = [
            _kv("point", {"stringValue": f"s{seq}"})]
        same(obj)


def test_the_series_cache_follows_a_metric_whose_points_change_shape() -> None:
    # A metric's attribute encodings are reused while its points have the same attribute lists; a point with
    # another value kind, a flag, a new attribute, fewer points or no start time takes the full encoder.
    base = json.loads(metrics_line(9, points=3))
    points = base["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["gauge"]["dataPoints"]
    for i, point in enumerate(points):  # the usual shape: a double
        point.pop("asInt", None)
        point["asDouble"] = i + 0.5
    variants: list[Callable[[list[dict[str, Any]]], None]] = [
        lambda p: None,
        lambda p: p[1].update(asInt="5") or p[1].pop("asDouble"),  # type: ignore[func-returns-value]
        lambda p: p[2].update(flags=1),  # type: ignore[func-returns-value]
        lambda p: p[0]["attributes"].append(_kv("new", {"stringValue": "x"})),  # type: ignore[func-returns-value]
        lambda p: p.pop(),  # type: ignore[func-returns-value]
        lambda p: [q.update(startTimeUnixNano="7") for q in p],  # type: ignore[func-returns-value]
        lambda p: p[0].update(asDouble=-0.0),  # type: ignore[func-returns-value]
    ]
    for change in variants * 2:
        obj = copy.deepcopy(base)
        change(obj["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["gauge"]["dataPoints"])
        same(obj)
    assert len(points) == 3


def test_the_series_cache_serves_int_points_with_a_start_time_each() -> None:
    # A host's counters are int64s (strings in OTLP-JSON) and each series keeps the start time it got when
    # first seen: the cache serves those points too, and any point that differs from the cached shape (the
    # other value kind, a start time moved or gone, a flag instead of a start, null attributes, a JSON
    # number for the string) is encoded in full.
    def line(seq: int) -> dict[str, Any]:
        obj = json.loads(metrics_line(seq, points=3))
        for i, point in enumerate(obj["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["gauge"]["dataPoints"]):
            point["startTimeUnixNano"] = str(NS + i)
            point["asInt"] = str(1000 * seq + i)
        return obj

    variants: list[Callable[[list[dict[str, Any]]], object]] = [
        lambda p: None,
        lambda p: p[1].pop("asInt") and p[1].update(asDouble=2.5),
        lambda p: p[2].update(startTimeUnixNano=str(NS + 7)),
        lambda p: p[0].pop("startTimeUnixNano"),
        lambda p: p[0].pop("startTimeUnixNano") and p[0].update(flags=1),
        lambda p: p[2].update(flags=1),
        lambda p: p[1].update(attributes=None),
        lambda p: p[2].update(asInt=-5),
        lambda p: p[0].update(asInt="-9223372036854775808"),
        lambda p: [q.pop("startTimeUnixNano") for q in p],
    ]
    for seq, change in enumerate(variants * 2):
        # The usual line fills the cache, the changed one must not be served from it, nor the next usual one
        # from what the changed one left.
        same(line(seq))
        changed = line(seq + 100)
        change(changed["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["gauge"]["dataPoints"])
        same(changed)
        same(line(seq + 200))
