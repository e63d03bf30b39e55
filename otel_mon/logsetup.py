"""Console logging: one readable line per record (text or JSON), structured ``extra=`` fields included.

The OTel logs bridge (LoggingHandler -> LoggerProvider -> spool) is attached next to it by the agent; this
module only formats for humans and log shippers reading stderr.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass
from typing import Literal


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
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        fields = " ".join(f"{k}={_short(v)}" for k, v in extras(record).items())
        line = f"{ts} {record.levelname:<7} {record.name}: {record.getMessage()}" + (f" {fields}" if fields else "")
        if record.exc_info:
            line += " | " + self.formatException(record.exc_info).replace("\n", " | ")
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "time": record.created, "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage(), **{k: _plain(v) for k, v in extras(record).items()},
        }
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def _short(value: object) -> str:
    text = str(value)
    return json.dumps(text) if (" " in text or not text) else text


def _plain(value: object) -> object:
    return value if isinstance(value, (str, int, float, bool, type(None), list, dict)) else str(value)


def configure_console(level: str, fmt: str) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
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
