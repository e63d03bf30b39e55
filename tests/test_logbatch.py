"""Logs wait for the collection tick: no thread of their own, one batch per flush, bounded, flushed at shutdown."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from otel_mon.logbatch import TickLogRecordProcessor


class Collect(LogRecordExporter):
    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.closed = False

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        self.batches.append([str(r.log_record.body) for r in batch])
        return LogRecordExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        self.closed = True


def bridge(processor: TickLogRecordProcessor) -> tuple[LoggerProvider, logging.Logger]:
    from otel_mon.logbridge import LogBridge

    provider = LoggerProvider()
    provider.add_log_record_processor(processor)
    logger = logging.getLogger(f"test.logbatch.{id(processor)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(LogBridge(provider, level=logging.INFO))
    return provider, logger


def test_records_wait_for_the_tick_and_leave_in_one_batch() -> None:
    threads = threading.active_count()
    exporter = Collect()
    provider, logger = bridge(TickLogRecordProcessor(exporter))
    assert threading.active_count() == threads  # no worker thread: nothing wakes while idle
    logger.info("one")
    logger.warning("two")
    assert exporter.batches == []
    provider.force_flush()
    assert exporter.batches == [["one", "two"]]
    provider.force_flush()  # nothing new: no empty export
    assert exporter.batches == [["one", "two"]]


def test_queue_is_bounded_and_shutdown_flushes() -> None:
    exporter = Collect()
    processor = TickLogRecordProcessor(exporter, max_queue=3)
    provider, logger = bridge(processor)
    for i in range(5):
        logger.info("r%d", i)
    assert processor.dropped == 2
    provider.shutdown()
    assert exporter.batches == [["r0", "r1", "r2"]]
    assert exporter.closed
    logger.info("after shutdown")
    assert exporter.batches == [["r0", "r1", "r2"]]
