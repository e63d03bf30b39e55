"""Console logging: one readable line per record (text or JSON), structured ``extra=`` fields included.

The OTel logs bridge (LoggingHandler -> LoggerProvider -> spool) is attached next to it by the agent; this
module only formats for humans and log shippers reading stderr.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from otel_mon.forward.config import thread_name
from otel_mon.textsafe import printable
from otel_mon.timefmt import iso


@dataclass(frozen=True)
class LoggingConfig:
    """The ``logging`` section: the console's level and format."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json"] = "text"


# Attributes every LogRecord has; anything else came from ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def extras(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = iso(record.created)
        fields = " ".join(f"{k}={_short(v)}" for k, v in _flat(extras(record)))
        line = f"{ts} {record.levelname:<7} {record.name}: {record.getMessage()}" + (f" {fields}" if fields else "")
        if record.exc_info:
            line += " | " + self.formatException(record.exc_info).replace("\n", " | ")
        return printable(line)  # host-derived values (process names, ...) must not forge lines or drive terminals


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "time": record.created, "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage(), **{k: _plain(v) for k, v in extras(record).items()},
        }
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def _flat(fields: dict[str, object], prefix: str = "") -> list[tuple[str, object]]:
    """Nested mappings as dotted keys (``spool_records.metrics=9``), never a Python dict repr."""
    out: list[tuple[str, object]] = []
    for key, value in fields.items():
        if isinstance(value, dict) and value:
            out += _flat({str(k): v for k, v in value.items()}, f"{prefix}{key}.")
        elif isinstance(value, (list, tuple)):
            out.append((prefix + key, ",".join(map(str, value))))
        else:
            out.append((prefix + key, value))
    return out


def _short(value: object) -> str:
    text = str(value)
    return json.dumps(text) if (not text or any(c in text for c in ' "=\n\t')) else text


def _plain(value: object) -> object:
    return value if isinstance(value, (str, int, float, bool, type(None), list, dict)) else str(value)


class RepeatFilter(logging.Filter):
    """Let one of each identical warning or error through per ``window`` seconds; count the rest.

    A client sending the same bad request thousands of times a second must not fill the disk with the same line
    (the logs spool, then byte retention evicting metrics). The next line let through says how many identical
    ones were held back. One instance serves every handler: the verdict is kept on the record, so the console
    and the logs bridge agree. Keys are bounded (least recently seen forgotten first).
    """

    def __init__(self, window: float = 60.0, max_keys: int = 512, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: OrderedDict[tuple[str, int, str, str], list[float]] = OrderedDict()  # key -> [at, held]

    def filter(self, record: logging.LogRecord) -> bool:
        verdict = getattr(record, "_otel_mon_repeat", None)
        if verdict is not None:
            return bool(verdict)
        verdict = self._decide(record) if record.levelno >= logging.WARNING else True
        record._otel_mon_repeat = verdict
        return verdict

    def _decide(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        key = (record.name, record.levelno, record.getMessage()[:500], exc)
        now = self._clock()
        with self._lock:
            entry = self._seen.get(key)
            if entry is not None and now - entry[0] < self.window:
                entry[1] += 1
                self._seen.move_to_end(key)
                return False
            held = int(entry[1]) if entry is not None else 0
            self._seen[key] = [now, 0]
            self._seen.move_to_end(key)
            while len(self._seen) > self.max_keys:
                self._seen.popitem(last=False)
        if held:
            record.msg = f"{record.msg} ({held} identical messages held back in the last {self.window:g}s)"
        return True


REPEATS = RepeatFilter()

# The thread of the logs signal's forwarder (the forwarder names its threads by ``thread_name`` too).
LOGS_FORWARDER_THREAD = thread_name("logs")


class NotAboutItsOwnPath(logging.Filter):
    """Keeps the logs forwarder's own records out of the logs spool: each path is one-way.

    The logs bridge writes records into the spool the logs forwarder sends. What that forwarder says about its
    own sending (an endpoint down, a line rejected) would take the very road that just failed: fail the same
    way, log again, and so on, a loop fed by its own output. Those records go to the console (and the
    forwarder's metrics count them); everything else, the metrics forwarder's records included, still
    reaches the logs spool.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != LOGS_FORWARDER_THREAD


NOT_ABOUT_ITS_OWN_PATH = NotAboutItsOwnPath()


def configure_console(level: str, fmt: str) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(REPEATS)
    handler.setLevel(level.upper())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_otel_mon_console", False)]:
        root.removeHandler(old)
    handler._otel_mon_console = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    # The root passes info and up to the OTel logs bridge whatever the console shows.
    root.setLevel(min(logging.INFO, logging.getLevelName(level.upper())))
    # Third-party chatter (SDK warnings about retries and such) stays at warning unless debugging.
    for name in ("opentelemetry", "urllib3", "grpc"):
        logging.getLogger(name).setLevel(logging.DEBUG if level == "debug" else logging.WARNING)
    return handler
