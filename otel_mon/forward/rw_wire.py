"""The Prometheus remote write 1.0 wire format: a ``prometheus.WriteRequest`` protobuf, snappy block-compressed.

The message schema (``prompb/remote.proto`` and ``types.proto``, the fields remote write 1.0 sends: labels and
float samples) is declared here as a descriptor, and protobuf's own runtime builds and serializes the message
class from it: no hand-rolled encoder, and no generated module to vendor (the
``opentelemetry-exporter-prometheus-remote-write`` package ships one, but it pins protobuf below 7 and brings
``requests``). Snappy's block format comes from ``cramjam``. This module is imported only when remote write
is configured, so the agent without it never loads either.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import cramjam
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

Labels = Sequence[tuple[str, str]]
Series = tuple[Labels, float, int]  # labels (sorted, __name__ included), value, timestamp in milliseconds

_F = descriptor_pb2.FieldDescriptorProto


def _message(file: descriptor_pb2.FileDescriptorProto, name: str,
             fields: Iterable[tuple[str, int, int, int, str]]) -> None:
    msg = file.message_type.add(name=name)
    for field_name, number, kind, label, type_name in fields:
        field = msg.field.add(name=field_name, number=number, type=kind, label=label)  # type: ignore[arg-type]
        if type_name:
            field.type_name = type_name


def _build() -> Any:
    file = descriptor_pb2.FileDescriptorProto(name="otel_mon/prompb_remote_write.proto", package="prometheus",
                                              syntax="proto3")
    rep, opt = _F.LABEL_REPEATED, _F.LABEL_OPTIONAL
    _message(file, "Label", [("name", 1, _F.TYPE_STRING, opt, ""), ("value", 2, _F.TYPE_STRING, opt, "")])
    _message(file, "Sample", [("value", 1, _F.TYPE_DOUBLE, opt, ""), ("timestamp", 2, _F.TYPE_INT64, opt, "")])
    _message(file, "TimeSeries", [("labels", 1, _F.TYPE_MESSAGE, rep, ".prometheus.Label"),
                                  ("samples", 2, _F.TYPE_MESSAGE, rep, ".prometheus.Sample")])
    _message(file, "WriteRequest", [("timeseries", 1, _F.TYPE_MESSAGE, rep, ".prometheus.TimeSeries")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("prometheus.WriteRequest"))


WriteRequest: Any = _build()

# The headers remote write 1.0 requires on every request.
HEADERS = {
    "Content-Type": "application/x-protobuf",
    "Content-Encoding": "snappy",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}


def encode(series: Iterable[Series]) -> bytes:
    """One serialized (uncompressed) ``WriteRequest``; serialized requests concatenate into their merge."""
    request = WriteRequest()
    for labels, value, timestamp in series:
        ts = request.timeseries.add()
        for name, label_value in labels:
            ts.labels.add(name=name, value=label_value)
        ts.samples.add(value=value, timestamp=timestamp)
    return bytes(request.SerializeToString())


def decode(body: bytes) -> list[Series]:
    """The series of a serialized request (tests and diagnostics)."""
    request = WriteRequest.FromString(body)
    return [(tuple((lb.name, lb.value) for lb in ts.labels), s.value, s.timestamp)
            for ts in request.timeseries for s in ts.samples]


def compress(body: bytes) -> bytes:
    """Snappy block format (not the framed one), as the receiver expects."""
    return bytes(cramjam.snappy.compress_raw(body))


def decompress(body: bytes) -> bytes:
    return bytes(cramjam.snappy.decompress_raw(body))
