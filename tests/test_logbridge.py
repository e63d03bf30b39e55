"""The agent's logs bridge gives the same OTel log records as opentelemetry-instrumentation-logging's handler."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult, SimpleLogRecordProcessor

from otel_mon.logbridge import LogBridge, severity


class Keep(LogRecordExporter):
    def __init__(self) -> None:
        self.records: list[ReadableLogRecord] = []

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        self.records.extend(batch)
        return LogRecordExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        pass


def emitted(handler_for: type) -> list[dict[str, object]]:
    keep = Keep()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(keep))
    handler = LogBridge(provider) if handler_for is LogBridge else LoggingHandler(logger_provider=provider)
    logger = logging.getLogger("test.logbridge")
    logger.propagate = False
    logger.setLevel(1)
    logger.addHandler(handler)
    try:
        logger.info("plain %s", "args", extra={"n": 3, "otel.event.name": "agent.start"})
        logger.warning("warned", extra={"event.name": "old.style"})
        logger.log(25, "between levels")
        logger.critical("fatal")
        logger.log(5, "below debug")
        try:
            raise ValueError("bad value", 2)
        except ValueError:
            logger.exception("failed", extra={"collector": "disk"})
    finally:
        logger.removeHandler(handler)
    out = []
    for r in keep.records:
        rec = r.log_record
        out.append({"body": rec.body, "severity_text": rec.severity_text, "severity_number": rec.severity_number,
                    "attributes": dict(rec.attributes or {}), "event_name": rec.event_name,
                    "scope": r.instrumentation_scope.name if r.instrumentation_scope else None,
                    "timestamp": rec.timestamp})
    return out


def test_same_records_as_the_instrumentation_handler() -> None:
    ours, theirs = emitted(LogBridge), emitted(LoggingHandler)
    assert len(ours) == len(theirs) == 6
    for a, b in zip(ours, theirs, strict=True):
        a.pop("timestamp"), b.pop("timestamp")
        stack_a = a["attributes"].pop("exception.stacktrace", None)  # type: ignore[union-attr]
        stack_b = b["attributes"].pop("exception.stacktrace", None)  # type: ignore[union-attr]
        assert (stack_a is None) == (stack_b is None)
        assert a == b


@pytest.mark.parametrize("level", range(0, 60))
def test_severity_numbers(level: int) -> None:
    from opentelemetry.instrumentation.log_utils import std_to_otel

    assert severity(level) == std_to_otel(level)


def test_the_repeat_filters_mark_does_not_become_an_attribute() -> None:
    """logsetup's RepeatFilter marks each record ``_otel_mon_repeat``; ``tail`` printed it on every line."""
    from otel_mon.logsetup import RepeatFilter

    keep = Keep()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(keep))
    handler = LogBridge(provider)
    handler.addFilter(RepeatFilter())
    logger = logging.getLogger("test.logbridge.repeat")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        logger.warning("disk slow", extra={"disk": "sda"})
    finally:
        logger.removeHandler(handler)
    (record,) = keep.records
    assert dict(record.log_record.attributes or {}) == {"disk": "sda"}
