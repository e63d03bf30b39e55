"""OTLP protobuf straight from a decoded OTLP-JSON line, without protobuf's runtime.

``json_format.ParseDict`` into message objects and ``SerializeToString`` cost ~30 ms of CPU per 1,000 points
(most of what forwarding cost); this writes the same wire bytes from the dicts ``json.loads`` gave, in one walk.
The wire format is the OTLP ``.proto`` files' (opentelemetry-proto 1.x): fields in number order, proto3 zero
values left out except where a field has presence (oneofs, ``optional``, messages), repeated scalars packed.
JSON follows the protobuf JSON mapping with OTLP's one change (trace and span ids in hex); int64s as strings
or numbers, enums as names or numbers, doubles as numbers or ``NaN`` / ``Infinity``; unknown keys ignored.
``tests/forward/test_otlp_wire.py`` holds the output to the official encoding, byte for byte.

The hot path (number data points and their attributes) is written out by hand and attribute encodings are
cached (a host sends the same series every interval); every other message goes through the field tables.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from collections.abc import Callable
from functools import partial
from typing import Any

__all__ = ["WireError", "encode_logs", "encode_metrics"]

_pack_double = struct.Struct("<d").pack
_pack_fixed64 = struct.Struct("<Q").pack
_pack_sfixed64 = struct.Struct("<q").pack
_pack_fixed32 = struct.Struct("<I").pack
_ZERO_DOUBLE = _pack_double(0.0)
_CACHE_LIMIT = 50_000


class WireError(ValueError):
    """The JSON does not fit the OTLP message (a wrong type, an out-of-range number, a bad id)."""


# ------------------------------------------------------------------------------------------ wire primitives

def varint(value: int) -> bytes:
    """Base-128 varint; negative values as their 64-bit two's complement (ten bytes), as int32/int64 are."""
    if value < 0:
        value += 1 << 64
    if value < 0x80:
        return _SMALL[value] if value < len(_SMALL) else bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_SMALL = [bytes((i,)) for i in range(0x80)]


def _tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def _field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field."""
    size = len(payload)
    return tag + (_SMALL[size] if size < 0x80 else varint(size)) + payload


# ------------------------------------------------------------------------------------------ JSON scalars

def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise WireError(f"not an integer: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
        try:
            number = float(value)
        except ValueError:
            raise WireError(f"not an integer: {value[:40]!r}") from None
        value = number
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise WireError(f"not an integer: {str(value)[:40]!r}")


def _unsigned(value: Any, bits: int) -> int:
    number = _int(value)
    if not 0 <= number < 1 << bits:
        raise WireError(f"out of range for uint{bits}: {number}")
    return number


def _signed(value: Any, bits: int) -> int:
    number = _int(value)
    if not -(1 << (bits - 1)) <= number < 1 << (bits - 1):
        raise WireError(f"out of range for int{bits}: {number}")
    return number


def _double(value: Any) -> float:
    if isinstance(value, bool):
        raise WireError(f"not a number: {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise WireError(f"not a number: {str(value)[:40]!r}")


def _string(value: Any) -> bytes:
    if not isinstance(value, str):
        raise WireError(f"not a string: {str(value)[:40]!r}")
    return value.encode("utf-8")


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise WireError(f"not a boolean: {str(value)[:40]!r}")
    return value


_HEX_ID = re.compile(r"(?:[0-9a-fA-F]{2})*")


def _base64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise WireError(f"not base64 text: {str(value)[:40]!r}")
    text = value.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise WireError(f"not base64: {value[:40]!r}") from None


def _id(value: Any) -> bytes:
    """A trace or span id: hex in OTLP-JSON (16 or 32 digits), base64 in protobuf's own JSON."""
    if isinstance(value, str) and len(value) in (16, 32) and _HEX_ID.fullmatch(value):
        return bytes.fromhex(value)
    return _base64(value)


def _enum(names: dict[str, int]) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, str):
            if value in names:
                return names[value]
            if not value.lstrip("-").isdigit():
                return 0  # an unknown name is ignored, like an unknown field (a newer writer's value)
        return _signed(value, 32)

    return parse


_TEMPORALITY = _enum({"AGGREGATION_TEMPORALITY_UNSPECIFIED": 0, "AGGREGATION_TEMPORALITY_DELTA": 1,
                      "AGGREGATION_TEMPORALITY_CUMULATIVE": 2})
_SEVERITY = _enum({"SEVERITY_NUMBER_UNSPECIFIED": 0, **{
    f"SEVERITY_NUMBER_{level}{n if n > 1 else ''}": base + n
    for base, level in ((0, "TRACE"), (4, "DEBUG"), (8, "INFO"), (12, "WARN"), (16, "ERROR"), (20, "FATAL"))
    for n in range(1, 5)}})


# ------------------------------------------------------------------------------------------ field tables
# A message is a tuple of fields in number order: (JSON name, number, kind, message table or None).
# Kinds: scalar kinds below; "message" (singular, presence), "messages" (repeated); a "?" suffix marks a
# scalar with presence (a oneof member or proto3 ``optional``): written even when zero.

Table = tuple[tuple[str, int, str, Any], ...]


def _table(*fields: tuple[str, int, str, Any]) -> Table:
    """Fields in number order, the order protobuf writes them in (a table lists them as the .proto does)."""
    return tuple(sorted(fields, key=lambda f: f[1]))


def _scalar(kind: str, value: Any) -> tuple[int, bytes]:
    """(wire type, encoded value) of a scalar of ``kind``."""
    if kind == "string":
        data = _string(value)
        return 2, varint(len(data)) + data
    if kind == "bytes":
        data = _base64(value)
        return 2, varint(len(data)) + data
    if kind == "id":
        data = _id(value)
        return 2, varint(len(data)) + data
    if kind == "fixed64":
        return 1, _pack_fixed64(_unsigned(value, 64))
    if kind == "sfixed64":
        return 1, _pack_sfixed64(_signed(value, 64))
    if kind == "fixed32":
        return 5, _pack_fixed32(_unsigned(value, 32))
    if kind == "double":
        return 1, _pack_double(_double(value))
    if kind == "uint32":
        return 0, varint(_unsigned(value, 32))
    if kind == "int32":
        return 0, varint(_signed(value, 32))
    if kind == "int64":
        return 0, varint(_signed(value, 64))
    if kind == "sint32":
        number = _signed(value, 32)
        return 0, varint((number << 1) ^ (number >> 31))
    if kind == "bool":
        return 0, varint(int(_bool(value)))
    if kind == "temporality":
        return 0, varint(_TEMPORALITY(value))
    if kind == "severity":
        return 0, varint(_SEVERITY(value))
    raise AssertionError(kind)


_IS_ZERO: dict[str, Callable[[bytes], bool]] = {
    "string": lambda d: len(d) == 1, "bytes": lambda d: len(d) == 1, "id": lambda d: len(d) == 1,
    "double": lambda d: d == _ZERO_DOUBLE}
_PACKED = {"packed_fixed64": lambda v: _pack_fixed64(_unsigned(v, 64)),
           "packed_double": lambda v: _pack_double(_double(v)),
           "packed_uint64": lambda v: varint(_unsigned(v, 64))}


def encode_message(node: Any, table: Table) -> bytes:
    """A message's fields (without its own tag and length) from its JSON object."""
    if not isinstance(node, dict):
        raise WireError(f"not an object: {str(node)[:40]!r}")
    out: list[bytes] = []
    for name, number, kind, sub in table:
        value = node.get(name)
        if value is None:
            continue
        if kind == "message":
            out.append(_field(_tag(number, 2), sub(value) if callable(sub) else encode_message(value, sub)))
        elif kind == "messages":
            if not isinstance(value, list):
                raise WireError(f"{name}: not a list")
            tag = _tag(number, 2)
            encode = sub if callable(sub) else (lambda item, t=sub: encode_message(item, t))
            out.extend(_field(tag, encode(item)) for item in value)
        elif kind == "strings":
            if not isinstance(value, list):
                raise WireError(f"{name}: not a list")
            tag = _tag(number, 2)
            out.extend(_field(tag, _string(item)) for item in value)
        elif kind in _PACKED:
            if not isinstance(value, list):
                raise WireError(f"{name}: not a list")
            if value:
                out.append(_field(_tag(number, 2), b"".join(map(_PACKED[kind], value))))
        else:
            present = kind.endswith("?")
            wire_type, data = _scalar(kind.rstrip("?"), value)
            if not present and (_IS_ZERO[kind](data) if kind in _IS_ZERO else data == b"\0" * len(data)):
                continue  # proto3 leaves a zero value without presence out
            out.append(_tag(number, wire_type) + data)
    return b"".join(out)


def _any_value(node: Any) -> bytes:
    return encode_message(node, ANY_VALUE)


def _key_values(node: Any) -> bytes:
    return encode_message(node, KEY_VALUE)


ANY_VALUE: Table = _table(
    ("stringValue", 1, "string?", None), ("boolValue", 2, "bool?", None), ("intValue", 3, "int64?", None),
    ("doubleValue", 4, "double?", None), ("arrayValue", 5, "message", None), ("kvlistValue", 6, "message", None),
    ("bytesValue", 7, "bytes?", None), ("stringValueStrindex", 8, "int32?", None),
)
KEY_VALUE: Table = _table(("key", 1, "string", None), ("value", 2, "message", _any_value),
                    ("keyStrindex", 3, "int32", None))
_VALUES: Table = (("values", 1, "messages", _any_value),)
_KV_VALUES: Table = (("values", 1, "messages", _key_values),)
ANY_VALUE = tuple((n, f, k, _VALUES if n == "arrayValue" else _KV_VALUES if n == "kvlistValue" else s)
                  for n, f, k, s in ANY_VALUE)


# ------------------------------------------------------------------------------------------ attributes (hot)

_kv_cache: dict[tuple[str, str], bytes] = {}
_ATTR_TAGS: dict[int, bytes] = {}


def _attributes(value: Any, number: int) -> bytes:
    """Repeated KeyValue field ``number``: string attributes from the cache, anything else encoded."""
    if not isinstance(value, list):
        raise WireError("attributes: not a list")
    tag = _ATTR_TAGS.get(number) or _ATTR_TAGS.setdefault(number, _tag(number, 2))
    out = []
    cache = _kv_cache
    for kv in value:
        try:
            key, inner = kv["key"], kv["value"]
            text = inner["stringValue"]
            hit = cache.get((key, text)) if len(inner) == 1 and len(kv) == 2 else None
        except (KeyError, TypeError):
            hit = None
        if hit is None:
            encoded = _field(tag, _key_values(kv))
            if isinstance(kv, dict) and len(kv) == 2 and isinstance(kv.get("value"), dict) \
                    and len(kv["value"]) == 1 and isinstance(kv["value"].get("stringValue"), str) \
                    and isinstance(kv.get("key"), str):
                if len(cache) > _CACHE_LIMIT:
                    cache.clear()
                cache[(kv["key"], kv["value"]["stringValue"])] = encoded[len(tag):]
            out.append(encoded)
        else:
            out.append(tag + hit)
    return b"".join(out)



# ------------------------------------------------------------------------------------------ metrics tables

EXEMPLAR: Table = _table(
    ("timeUnixNano", 2, "fixed64", None), ("asDouble", 3, "double?", None), ("spanId", 4, "id", None),
    ("traceId", 5, "id", None), ("asInt", 6, "sfixed64?", None), ("filteredAttributes", 7, "messages", _key_values),
)
HISTOGRAM_POINT: Table = _table(
    ("attributes", 9, "messages", _key_values), ("startTimeUnixNano", 2, "fixed64", None),
    ("timeUnixNano", 3, "fixed64", None), ("count", 4, "fixed64", None), ("sum", 5, "double?", None),
    ("bucketCounts", 6, "packed_fixed64", None), ("explicitBounds", 7, "packed_double", None),
    ("exemplars", 8, "messages", EXEMPLAR), ("flags", 10, "uint32", None), ("min", 11, "double?", None),
    ("max", 12, "double?", None),
)
_BUCKETS: Table = _table(("offset", 1, "sint32", None), ("bucketCounts", 2, "packed_uint64", None))
EXPONENTIAL_POINT: Table = _table(
    ("attributes", 1, "messages", _key_values), ("startTimeUnixNano", 2, "fixed64", None),
    ("timeUnixNano", 3, "fixed64", None), ("count", 4, "fixed64", None), ("sum", 5, "double?", None),
    ("scale", 6, "sint32", None), ("zeroCount", 7, "fixed64", None), ("positive", 8, "message", _BUCKETS),
    ("negative", 9, "message", _BUCKETS), ("flags", 10, "uint32", None), ("exemplars", 11, "messages", EXEMPLAR),
    ("min", 12, "double?", None), ("max", 13, "double?", None), ("zeroThreshold", 14, "double", None),
)
_QUANTILE: Table = _table(("quantile", 1, "double", None), ("value", 2, "double", None))
SUMMARY_POINT: Table = _table(
    ("attributes", 7, "messages", _key_values), ("startTimeUnixNano", 2, "fixed64", None),
    ("timeUnixNano", 3, "fixed64", None), ("count", 4, "fixed64", None), ("sum", 5, "double", None),
    ("quantileValues", 6, "messages", _QUANTILE), ("flags", 8, "uint32", None),
)
_SCOPE: Table = _table(("name", 1, "string", None), ("version", 2, "string", None),
                 ("attributes", 3, "messages", _key_values), ("droppedAttributesCount", 4, "uint32", None))
_ENTITY_REF: Table = _table(("schemaUrl", 1, "string", None), ("type", 2, "string", None),
                      ("idKeys", 3, "strings", None), ("descriptionKeys", 4, "strings", None))
_RESOURCE: Table = _table(("attributes", 1, "messages", _key_values), ("droppedAttributesCount", 2, "uint32", None),
                    ("entityRefs", 3, "messages", _ENTITY_REF))

_T_START, _T_TIME, _T_DOUBLE, _T_INT, _T_FLAGS = b"\x11", b"\x19", b"\x21", b"\x31", b"\x40"
_T_EXEMPLARS = _tag(5, 2)


class _Counter:
    """What the walk learns on the way: the number of points (or records) and the first timestamp."""

    __slots__ = ("first", "points")

    def __init__(self) -> None:
        self.points = 0
        self.first = 0


_start_cache: dict[Any, bytes] = {}
_time_cache: dict[Any, bytes] = {}


def _stamp(cache: dict[Any, bytes], tag: bytes, value: Any) -> bytes:
    """A fixed64 timestamp field, from the cache: every point of a collection has the same two stamps."""
    try:
        hit = cache.get(value)
    except TypeError:  # unhashable: not a number anyway
        raise WireError(f"not an integer: {str(value)[:40]!r}") from None
    if hit is None:
        number = _unsigned(value, 64)
        hit = tag + _pack_fixed64(number) if number else b""
        if len(cache) > 1024:
            cache.clear()
        cache[value] = hit
    return hit


_stamps_cache: dict[tuple[Any, Any], bytes] = {}


def _stamps(start: Any, stamp: Any) -> bytes:
    """The start and time fields of a point, from the cache: every point of a collection has the same two."""
    try:
        hit = _stamps_cache.get((start, stamp))
    except TypeError:  # unhashable: not a number anyway
        raise WireError(f"not an integer: {str(stamp)[:40]!r}") from None
    if hit is None:
        hit = _stamp(_start_cache, _T_START, start) if start is not None else b""
        hit += _stamp(_time_cache, _T_TIME, stamp) if stamp is not None else b""
        if len(_stamps_cache) > 1024:
            _stamps_cache.clear()
        _stamps_cache[(start, stamp)] = hit
    return hit


def _number_point(dp: Any, seen: _Counter) -> bytes:
    """NumberDataPoint, written out by hand (the bulk of a host's points), with its field tag and length."""
    if type(dp) is not dict:
        raise WireError("data point: not an object")
    get = dp.get
    stamp = get("timeUnixNano")
    out = [_stamps(get("startTimeUnixNano"), stamp)]
    if not seen.first and stamp is not None:
        seen.first = _int(stamp)
    value = get("asDouble")
    if value is not None:
        out.append(_T_DOUBLE + _pack_double(value if type(value) is float else _double(value)))
    value = get("exemplars")
    if value:
        if not isinstance(value, list):
            raise WireError("exemplars: not a list")
        out.extend(_field(_T_EXEMPLARS, encode_message(e, EXEMPLAR)) for e in value)
    value = get("asInt")
    if value is not None:
        out.append(_T_INT + _pack_sfixed64(_signed(value, 64)))
    value = get("attributes")
    if value:
        if type(value) is not list:
            raise WireError("attributes: not a list")
        cache = _kv_cache
        for kv in value:
            try:
                inner = kv["value"]
                hit = cache[kv["key"], inner["stringValue"]]
                if len(inner) != 1 or len(kv) != 2:
                    hit = b""
            except (KeyError, TypeError):
                hit = b""
            out.append(b"\x3a" + hit if hit else _attributes([kv], 7))
    value = get("flags")
    if value:
        out.append(_T_FLAGS + varint(_unsigned(value, 32)))
    seen.points += 1
    body = b"".join(out)
    size = len(body)
    return b"\x0a" + (_SMALL[size] if size < 0x80 else varint(size)) + body


def _points(node: dict[str, Any], number: int, encode: Callable[[Any], bytes], seen: _Counter) -> list[bytes]:
    points = node.get("dataPoints")
    if points is None:
        return []
    if not isinstance(points, list):
        raise WireError("dataPoints: not a list")
    tag = _tag(number, 2)
    out = []
    for dp in points:
        out.append(_field(tag, encode(dp)))
        seen.points += 1
        if not seen.first and isinstance(dp, dict):
            stamp = dp.get("timeUnixNano")
            seen.first = _int(stamp) if stamp is not None else 0
    return out


_TEMPORALITY_FIELDS: dict[Any, list[bytes]] = {None: []}


def _temporality_field(node: dict[str, Any]) -> list[bytes]:
    value = node.get("aggregationTemporality")
    try:
        return list(_TEMPORALITY_FIELDS[value])
    except (KeyError, TypeError):
        pass
    number = _TEMPORALITY(value)
    field = [b"\x10" + varint(number)] if number else []
    if isinstance(value, (int, str)) and len(_TEMPORALITY_FIELDS) < 64:
        _TEMPORALITY_FIELDS[value] = field
    return list(field)


# Per metric: the attribute lists and start times of its points as last seen, and their encodings. A host
# sends the same series every interval (each with the start time it got when first seen), so a point of the
# usual shape -- start and time stamps, one value (a double, or an int64 as JSON writes it) and attributes --
# is its cached start, the collection's time, its value and the attributes' cached bytes; anything else takes
# ``_number_point``. Every key the entry's shape has is checked on each point (an absent one is cached as
# None), so an equal key count means no other key (a flag, an exemplar, the other value) is there.
class _Series:
    __slots__ = ("attrs", "heads", "is_int", "keys", "starts", "tails")

    def __init__(self, attrs: list[Any], starts: list[Any], heads: list[bytes], tails: list[bytes], keys: int,
                 is_int: bool) -> None:
        self.attrs, self.starts, self.heads, self.tails = attrs, starts, heads, tails
        self.keys, self.is_int = keys, is_int


_series_cache: dict[Any, _Series] = {}
_USUAL = frozenset({"attributes", "startTimeUnixNano", "timeUnixNano", "asDouble", "asInt"})


def _usual_points(key: Any, points: list[Any], seen: _Counter) -> list[bytes] | None:
    """The points of a metric whose series are those of last time, from the cache; None when they are not."""
    entry = _series_cache.get(key)
    if entry is None or len(entry.attrs) != len(points) or not points:
        return None
    first = points[0]
    if type(first) is not dict:
        return None
    stamp = first.get("timeUnixNano")
    if stamp is None:
        return None
    stamp_bytes = _stamp(_time_cache, _T_TIME, stamp)
    keys, is_int = entry.keys, entry.is_int
    value_size = len(stamp_bytes) + 9
    out = []
    for dp, attrs, start, head, tail in zip(points, entry.attrs, entry.starts, entry.heads, entry.tails,
                                            strict=True):
        if type(dp) is not dict or len(dp) != keys:
            return None
        get = dp.get
        if get("attributes") != attrs or get("timeUnixNano") != stamp or get("startTimeUnixNano") != start:
            return None
        if is_int:
            value = get("asInt")
            if type(value) is not str and type(value) is not int:
                return None
            encoded = _T_INT + _pack_sfixed64(_signed(value, 64))
        else:
            value = get("asDouble")
            if type(value) is not float:
                return None
            encoded = _T_DOUBLE + _pack_double(value)
        size = len(head) + value_size + len(tail)
        out.append(b"\x0a" + (_SMALL[size] if size < 0x80 else varint(size)) + head + stamp_bytes + encoded + tail)
    if not seen.first:
        seen.first = _int(stamp)
    seen.points += len(points)
    return out


def _remember(key: Any, points: list[Any]) -> None:
    """Keep the encodings of a metric's attribute lists and start times when every point has the usual shape
    (called after ``_number_point`` accepted every point, so the values are valid)."""
    shape = points[0].keys() if points and type(points[0]) is dict else None
    if (shape is None or not shape <= _USUAL or "timeUnixNano" not in shape
            or ("asInt" in shape) == ("asDouble" in shape)):
        _series_cache.pop(key, None)
        return
    is_int, has_start, has_attrs = "asInt" in shape, "startTimeUnixNano" in shape, "attributes" in shape
    attrs_list, starts, heads, tails = [], [], [], []
    for dp in points:
        if type(dp) is not dict or dp.keys() != shape:
            _series_cache.pop(key, None)
            return
        attrs, start = dp.get("attributes"), dp.get("startTimeUnixNano")
        value = dp.get("asInt" if is_int else "asDouble")
        if ((has_attrs and type(attrs) is not list) or (has_start and start is None) or dp.get("timeUnixNano") is None
                or type(value) not in ((str, int) if is_int else (float,))):
            _series_cache.pop(key, None)
            return
        attrs_list.append(attrs)
        starts.append(start)
        heads.append(_stamp(_start_cache, _T_START, start) if start is not None else b"")
        tails.append(_attributes(attrs, 7) if attrs else b"")
    if len(_series_cache) > _CACHE_LIMIT:
        _series_cache.clear()
    _series_cache[key] = _Series(attrs_list, starts, heads, tails, len(shape), is_int)


def _number_data(node: Any, seen: _Counter, with_sum: bool, key: Any = None) -> bytes:
    if not isinstance(node, dict):
        raise WireError("metric data: not an object")
    points = node.get("dataPoints")
    out: list[bytes] = []
    if points is not None:
        if not isinstance(points, list):
            raise WireError("dataPoints: not a list")
        usual = _usual_points(key, points, seen) if key is not None else None
        if usual is None:
            out = [_number_point(dp, seen) for dp in points]
            if key is not None:
                _remember(key, points)
        else:
            out = usual
    if with_sum:
        out += _temporality_field(node)
        monotonic = node.get("isMonotonic")
        if monotonic is not None and _bool(monotonic):
            out.append(b"\x18\x01")
    return b"".join(out)


_metric_head_cache: dict[tuple[Any, Any, Any], bytes] = {}
_KINDS = (("gauge", b"\x2a"), ("sum", b"\x3a"), ("histogram", b"\x4a"), ("exponentialHistogram", b"\x52"),
          ("summary", b"\x5a"))  # fields 5, 7, 9, 10, 11, length-delimited
_DISTRIBUTIONS = {"histogram": HISTOGRAM_POINT, "exponentialHistogram": EXPONENTIAL_POINT,
                  "summary": SUMMARY_POINT}


def _metric(node: Any, seen: _Counter) -> bytes:
    if not isinstance(node, dict):
        raise WireError("metric: not an object")
    key = (node.get("name"), node.get("description"), node.get("unit"))
    head = _metric_head_cache.get(key)
    if head is None:
        head = encode_message(node, (("name", 1, "string", None), ("description", 2, "string", None),
                                     ("unit", 3, "string", None)))
        if len(_metric_head_cache) > _CACHE_LIMIT:
            _metric_head_cache.clear()
        _metric_head_cache[key] = head
    out = [head]
    for kind, tag in _KINDS:
        body = node.get(kind)
        if body is None:
            continue
        if kind in ("gauge", "sum"):
            data = _number_data(body, seen, kind == "sum", key if isinstance(key[0], str) else None)
        else:
            if not isinstance(body, dict):
                raise WireError(f"{kind}: not an object")
            table = _DISTRIBUTIONS[kind]
            parts = _points(body, 1, partial(encode_message, table=table), seen)
            if kind != "summary":
                parts += _temporality_field(body)
            data = b"".join(parts)
        out.append(_field(tag, data))
    metadata = node.get("metadata")
    if metadata:
        out.append(_attributes(metadata, 12))
    return b"".join(out)


def _repeated(node: dict[str, Any], key: str, tag: bytes, encode: Callable[[Any], bytes]) -> list[bytes]:
    value = node.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise WireError(f"{key}: not a list")
    return [_field(tag, encode(item)) for item in value]


def _schema_url(node: dict[str, Any]) -> list[bytes]:
    value = node.get("schemaUrl")
    if value is None or value == "":
        return []
    return [_field(b"\x1a", _string(value))]


def _resource_scope(node: Any, inner_key: str, encode_inner: Callable[[Any], bytes]) -> bytes:
    """ResourceMetrics / ResourceLogs: resource (1), scope blocks (2), schema URL (3)."""
    if not isinstance(node, dict):
        raise WireError("resource block: not an object")
    out = []
    resource = node.get("resource")
    if resource is not None:
        out.append(_field(b"\x0a", encode_message(resource, _RESOURCE)))
    out += _repeated(node, inner_key, b"\x12", encode_inner)
    return b"".join(out + _schema_url(node))


def _scope_block(node: Any, items_key: str, encode_item: Callable[[Any], bytes]) -> bytes:
    """ScopeMetrics / ScopeLogs: scope (1), items (2), schema URL (3)."""
    if not isinstance(node, dict):
        raise WireError("scope block: not an object")
    out = []
    scope = node.get("scope")
    if scope is not None:
        out.append(_field(b"\x0a", encode_message(scope, _SCOPE)))
    out += _repeated(node, items_key, b"\x12", encode_item)
    return b"".join(out + _schema_url(node))


def _top(data: Any, key: str) -> list[Any]:
    if not isinstance(data, dict):
        raise WireError("not a JSON object")
    blocks = data.get(key)
    if blocks is None:
        return []
    if not isinstance(blocks, list):
        raise WireError(f"{key}: not a list")
    return blocks


def encode_metrics(data: Any) -> tuple[bytes, int, int]:
    """``ExportMetricsServiceRequest`` bytes of a ``MetricsData`` object, its point count and first timestamp
    (nanoseconds, 0 when none). Raises ``WireError`` for JSON that does not fit the message."""
    seen = _Counter()

    def metric(node: Any) -> bytes:
        return _metric(node, seen)

    def scope(node: Any) -> bytes:
        return _scope_block(node, "metrics", metric)

    def block(node: Any) -> bytes:
        return _resource_scope(node, "scopeMetrics", scope)

    body = b"".join(_field(b"\x0a", block(rm)) for rm in _top(data, "resourceMetrics"))
    return body, seen.points, seen.first


LOG_RECORD: Table = _table(
    ("timeUnixNano", 1, "fixed64", None), ("severityNumber", 2, "severity", None),
    ("severityText", 3, "string", None), ("body", 5, "message", ANY_VALUE),
    ("attributes", 6, "messages", _key_values), ("droppedAttributesCount", 7, "uint32", None),
    ("flags", 8, "fixed32", None), ("traceId", 9, "id", None), ("spanId", 10, "id", None),
    ("observedTimeUnixNano", 11, "fixed64", None), ("eventName", 12, "string", None),
)


def encode_logs(data: Any) -> tuple[bytes, int, int]:
    """``ExportLogsServiceRequest`` bytes of a ``LogsData`` object, its record count and first timestamp."""
    seen = _Counter()

    def record(node: Any) -> bytes:
        body = encode_message(node, LOG_RECORD)
        seen.points += 1
        if not seen.first:
            for key in ("timeUnixNano", "observedTimeUnixNano"):
                stamp = node.get(key)
                if stamp is not None and _int(stamp) > 0:
                    seen.first = _int(stamp)
                    break
        return body

    def scope(node: Any) -> bytes:
        return _scope_block(node, "logRecords", record)

    def block(node: Any) -> bytes:
        return _resource_scope(node, "scopeLogs", scope)

    body = b"".join(_field(b"\x0a", block(rl)) for rl in _top(data, "resourceLogs"))
    return body, seen.points, seen.first


# ------------------------------------------------------------------------------------------ reading answers

def read_fields(data: bytes) -> dict[int, list[Any]]:
    """The fields of a small message (an export response, a ``google.rpc.Status``): number -> values, an int
    for varint and fixed fields, bytes for length-delimited ones. Raises ``WireError`` on broken input."""
    out: dict[int, list[Any]] = {}
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        value: Any
        if wire_type == 0:
            value, pos = _read_varint(data, pos)
        elif wire_type == 1:
            value, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
        elif wire_type == 5:
            value, pos = int.from_bytes(data[pos:pos + 4], "little"), pos + 4
        elif wire_type == 2:
            size, pos = _read_varint(data, pos)
            value, pos = data[pos:pos + size], pos + size
        else:
            raise WireError(f"unsupported wire type {wire_type}")
        if pos > end or number == 0:
            raise WireError("truncated message")
        out.setdefault(number, []).append(value)
    return out


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise WireError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def as_int64(value: int) -> int:
    """A varint read back as a signed 64-bit integer."""
    return value - (1 << 64) if value >= 1 << 63 else value
