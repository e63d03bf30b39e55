"""OTel SDK exporters that append to the spool: the MeterProvider's and LoggerProvider's only sink.

A metrics batch is written by ``spool/encoder.py`` from cached fragments, byte for byte what the official
``opentelemetry-exporter-otlp-json-common`` encoder gives (so a line is exactly what the Collector's file
exporter writes and its ``otlp_json_file`` receiver reads), split into lines under the limit by whole metrics;
the official encoder and ``spool/lines.py`` take a batch the fast encoder does not cover, one with a single
metric over the line limit (split by data points there), and every log batch. The exporters never
own the spool: the agent closes the :class:`SpoolWriter` after shutting the providers down.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

# The package's only entry point for logs (its own OTLP JSON file exporter imports this same module; the
# metrics twin is the public ``metrics_encoder``); pinned exactly with the OTel release set in pyproject.toml.
# Likewise the logs SDK, which exists only as ``opentelemetry.sdk._logs`` in that release set.
from opentelemetry.exporter.otlp.json.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.json.common.metrics_encoder import encode_metrics
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

from otel_mon.spool import lines as spool_lines
from otel_mon.spool.encoder import LineEncoder
from otel_mon.spool.segments import Signal
from otel_mon.spool.writer import REASON_OVERSIZE, SpoolWriter

log = logging.getLogger(__name__)



class _SpoolSink:
    """What both exporters share: split into lines, append, count what cannot be written."""

    def __init__(self, spool: SpoolWriter, signal: Signal, shape: tuple[spool_lines.ChildPath, ...],
                 max_line_bytes: int) -> None:
        self._spool = spool
        self._signal: Signal = signal
        self._shape = shape
        self._limit = max_line_bytes
        self._shutdown = False
        self._oversize_logged = False

    def write(self, payload: dict[str, Any]) -> bool:
        if self._shutdown:
            return False
        if not payload:
            return True  # nothing collected
        out, oversize = spool_lines.to_lines(payload, self._shape, self._limit)
        if oversize:
            self._spool.record_dropped(self._signal, REASON_OVERSIZE, oversize)
            if not self._oversize_logged:
                self._oversize_logged = True
                log.error("spool: %d %s item(s) larger than a %d-byte line were dropped (logged once)",
                          oversize, self._signal, self._limit)
        return self._spool.append(self._signal, out) and not oversize

    def write_lines(self, out: list[bytes]) -> bool:
        """Lines already encoded, each within the limit; none means nothing was collected."""
        if self._shutdown:
            return False
        return self._spool.append(self._signal, out) if out else True

    def shutdown(self) -> None:
        self._shutdown = True


class SpoolMetricExporter(MetricExporter):
    """Each export becomes one line (or several, when it would exceed the line limit) of ``metrics``."""

    def __init__(self, spool: SpoolWriter, *, max_line_bytes: int = spool_lines.MAX_LINE_BYTES) -> None:
        super().__init__()  # the SDK default: cumulative for every kind, so each line stands alone
        self._sink = _SpoolSink(spool, "metrics", spool_lines.METRICS_SHAPE, max_line_bytes)
        self._limit = max_line_bytes
        self._encoder = LineEncoder()

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        # The same bytes as the official encoder, at a fraction of the cost (spool/encoder.py); the official
        # path for what the fast one does not cover and for a single metric over the line limit.
        out = self._encoder.encode_lines(metrics_data, self._limit)
        if out is not None:
            ok = self._sink.write_lines(out)
        else:
            ok = self._sink.write(encode_metrics(metrics_data).to_dict())
        return MetricExportResult.SUCCESS if ok else MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True  # every export is already on disk when it returns

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self._sink.shutdown()


class SpoolLogExporter(LogRecordExporter):
    """Each batch of log records becomes one line (or several) of ``logs``."""

    def __init__(self, spool: SpoolWriter, *, max_line_bytes: int = spool_lines.MAX_LINE_BYTES) -> None:
        self._sink = _SpoolSink(spool, "logs", spool_lines.LOGS_SHAPE, max_line_bytes)

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        ok = self._sink.write(encode_logs(batch).to_dict()) if batch else True
        return LogRecordExportResult.SUCCESS if ok else LogRecordExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        self._sink.shutdown()
