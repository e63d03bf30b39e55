"""The logs bridge: Python ``logging`` records as OTel log records, emitted to a LoggerProvider.

opentelemetry-instrumentation-logging's handler does the same translation, but importing it runs its
package root: the instrumentor machinery (wrapt, packaging, entry points), ~5 MiB of RSS and 114 modules
for one handler in an agent whose budget is 40 MiB. The translation follows the OTel logs data model:
timestamp from the record, severity number from the level (DEBUG 5, INFO 9, WARN 13, ERROR 17, FATAL 21,
plus up to 3 for levels in between), severity text with WARN / FATAL spelled as OTel spells them, the
message as body, ``extra=`` fields as attributes, ``exception.*`` attributes for ``exc_info``, and
``otel.event.name`` (or the older ``event.name``) as the event name.
"""

from __future__ import annotations

import logging
import traceback
from contextvars import ContextVar
from time import time_ns
from typing import Any

# The OTel logs API and SDK exist only as ``_logs`` modules in the pinned release set (no public module yet).
from opentelemetry._logs import LoggerProvider, LogRecord, SeverityNumber

# LogRecord attributes every record has: anything else came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
_TEXT = {"WARNING": "WARN", "CRITICAL": "FATAL"}


def severity(levelno: int) -> SeverityNumber:
    """The OTel severity number of a Python level (10-19 DEBUG..DEBUG4, 20-29 INFO..INFO4, ...)."""
    if levelno < logging.DEBUG:
        return SeverityNumber.UNSPECIFIED
    if levelno > 53:
        return SeverityNumber.FATAL4
    return SeverityNumber(4 * (levelno // 10) + 1 + min(levelno % 10, 3))


def attributes(record: logging.LogRecord) -> tuple[dict[str, Any], str | None]:
    """``extra=`` fields and exception details as attributes; the event name taken out of them."""
    # An underscore name is the agent's own bookkeeping on the record (logsetup's ``_otel_mon_repeat``), not data.
    attrs = {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
    event = attrs.pop("otel.event.name", None)
    legacy = attrs.pop("event.name", None)
    if record.exc_info:
        kind, value, tb = record.exc_info
        if kind is not None:
            attrs["exception.type"] = kind.__name__
        if value is not None and value.args:
            attrs["exception.message"] = str(value.args[0])
        if tb is not None:
            attrs["exception.stacktrace"] = "".join(traceback.format_exception(*record.exc_info))
    return attrs, event if event is not None else legacy


class LogBridge(logging.Handler):
    """Emits every record it handles to ``provider``, under a logger named like the record's."""

    _emitting: ContextVar[bool] = ContextVar("otel_mon_log_bridge_emitting", default=False)

    def __init__(self, provider: LoggerProvider, level: int = logging.NOTSET) -> None:
        super().__init__(level=level)
        self._provider = provider

    def emit(self, record: logging.LogRecord) -> None:
        if self._emitting.get():  # a record logged while emitting one (an SDK warning): never recurse
            return
        token = self._emitting.set(True)
        try:
            attrs, event = attributes(record)
            self._provider.get_logger(record.name).emit(LogRecord(
                timestamp=int(record.created * 1e9),
                observed_timestamp=time_ns(),
                severity_text=_TEXT.get(record.levelname, record.levelname),
                severity_number=severity(record.levelno),
                body=record.getMessage(),
                attributes=attrs,
                event_name=event,
            ))
        except Exception:
            self.handleError(record)
        finally:
            self._emitting.reset(token)
