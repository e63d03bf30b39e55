"""The Prometheus remote write 1.0 wire format: a ``prometheus.WriteRequest`` protobuf, snappy block-compressed.

The fields remote write 1.0 sends (``prompb/remote.proto`` and ``types.proto``): ``WriteRequest.timeseries``
(1), each ``TimeSeries`` with ``labels`` (1: ``Label`` name 1, value 2) and ``samples`` (2: ``Sample`` value 1
as a double, timestamp 2 as an int64 varint). Written with ``otlp_wire``'s primitives, so remote write loads
no protobuf runtime; ``tests/stack/test_stack_rw_units.py`` holds the bytes to protobuf's own encoding of the
same schema. A label's encoding is cached (a host sends the same label pairs every interval). Snappy's block
format comes from ``cramjam``, imported only when remote write is configured.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

import cramjam

from otel_mon.forward.otlp_wire import WireError, as_int64, read_fields, varint

Labels = Sequence[tuple[str, str]]
Series = tuple[Labels, float, int]  # labels (sorted, __name__ included), value, timestamp in milliseconds

_pack_double = struct.Struct("<d").pack
_unpack_double = struct.Struct("<d").unpack
_label_cache: dict[tuple[str, str], bytes] = {}
_CACHE_LIMIT = 50_000


def _field(tag: bytes, payload: bytes) -> bytes:
    return tag + varint(len(payload)) + payload


def _label(name: str, value: str) -> bytes:
    """One ``labels`` field (tag 1) of a TimeSeries; proto3 leaves an empty string out."""
    key = (name, value)
    hit = _label_cache.get(key)
    if hit is None:
        body = b""
        if name:
            body += _field(b"\x0a", name.encode())
        if value:
            body += _field(b"\x12", value.encode())
        hit = _field(b"\x0a", body)
        if len(_label_cache) > _CACHE_LIMIT:
            _label_cache.clear()
        _label_cache[key] = hit
    return hit


def _sample(value: float, timestamp: int) -> bytes:
    body = b"" if _pack_double(value) == b"\0" * 8 else b"\x09" + _pack_double(value)
    if timestamp:
        body += b"\x10" + varint(timestamp)
    return _field(b"\x12", body)


# The headers remote write 1.0 requires on every request.
HEADERS = {
    "Content-Type": "application/x-protobuf",
    "Content-Encoding": "snappy",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}


def encode(series: Iterable[Series]) -> bytes:
    """One serialized (uncompressed) ``WriteRequest``; serialized requests concatenate into their merge."""
    return b"".join(_field(b"\x0a", b"".join(_label(n, v) for n, v in labels) + _sample(value, timestamp))
                    for labels, value, timestamp in series)


def decode(body: bytes) -> list[Series]:
    """The series of a serialized request (tests and diagnostics)."""
    out: list[Series] = []
    try:
        for ts in read_fields(body).get(1, []):
            fields = read_fields(ts)
            labels = []
            for label in fields.get(1, []):
                pair = read_fields(label)
                labels.append((pair.get(1, [b""])[-1].decode(), pair.get(2, [b""])[-1].decode()))
            for sample in fields.get(2, []):
                parts = read_fields(sample)
                value = _unpack_double(int(parts.get(1, [0])[-1]).to_bytes(8, "little"))[0]
                out.append((tuple(labels), value, as_int64(int(parts.get(2, [0])[-1]))))
    except (WireError, AttributeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not a WriteRequest: {exc}") from None
    return out


def compress(body: bytes) -> bytes:
    """Snappy block format (not the framed one), as the receiver expects."""
    return bytes(cramjam.snappy.compress_raw(body))


def decompress(body: bytes) -> bytes:
    return bytes(cramjam.snappy.decompress_raw(body))
