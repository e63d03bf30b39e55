"""Log records held in memory and exported on the agent's collection tick, by a processor with no thread.

The SDK's ``BatchLogRecordProcessor`` runs a worker that wakes every schedule delay whether or not a record
arrived (60 wake-ups a minute at 1 s): on an idle agent that was the only wake-up besides collecting. Here
``on_emit`` only appends; the agent calls ``force_flush`` (through the LoggerProvider) right after each
collection, so logs reach the spool at most one interval late, in one line, and an agent with nothing to log
never wakes for it. Shutdown flushes what is left.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

# The OTel logs API and SDK exist only as ``_logs`` modules in the pinned release set (no public module yet).
from opentelemetry.sdk._logs import LogRecordProcessor, ReadableLogRecord, ReadWriteLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.resources import Resource

log = logging.getLogger(__name__)

# Records waiting for the next tick beyond this are dropped (counted): a logging storm must not grow the heap.
MAX_QUEUE = 2048


class TickLogRecordProcessor(LogRecordProcessor):
    """Buffers records; ``force_flush`` exports them in one batch on the caller's thread."""

    def __init__(self, exporter: LogRecordExporter, max_queue: int = MAX_QUEUE) -> None:
        self._exporter = exporter
        self._max = max_queue
        self._queue: list[ReadableLogRecord] = []
        self._lock = threading.Lock()  # guards the queue; on_emit holds it only to append
        self._export_lock = threading.Lock()  # one export at a time, so batches reach the spool in order
        self._shutdown = False
        self.dropped = 0

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        if self._shutdown:
            return
        readable = ReadableLogRecord(
            log_record=log_record.log_record,
            resource=log_record.resource if log_record.resource is not None else Resource.get_empty(),
            instrumentation_scope=log_record.instrumentation_scope,
            limits=log_record.limits,
        )
        with self._lock:
            if len(self._queue) >= self._max:
                self.dropped += 1
                return
            self._queue.append(readable)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        with self._export_lock:
            with self._lock:
                batch, self._queue = self._queue, []
            return self._export(batch) if batch else True

    def _export(self, batch: Sequence[ReadableLogRecord]) -> bool:
        try:
            return self._exporter.export(batch) is LogRecordExportResult.SUCCESS
        except Exception:  # an exporter bug must not break the collection tick that flushes
            log.exception("log exporter failed", extra={"exporter": type(self._exporter).__name__})
            return False

    def shutdown(self) -> None:
        self.force_flush()
        self._shutdown = True
        self._exporter.shutdown()  # type: ignore[no-untyped-call]
