"""What a send attempt comes to (ok, retry, hold, reject) and the helpers both senders share."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from pathlib import Path

from otel_mon import __version__
from otel_mon.forward.otlp_wire import WireError, as_int64, read_fields
from otel_mon.urls import redact_text

USER_AGENT = f"otel-mon/{__version__}"
_MAX_MESSAGE = 300


class Outcome(enum.Enum):
    OK = "ok"
    RETRY = "retry"  # transient: try the same batch again later
    HOLD = "hold"  # the endpoint refuses every batch (auth, path): keep the data, retry at backoff
    REJECT = "reject"  # this batch is refused for good: count it and move on


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    message: str = ""
    retry_after: float | None = None
    rejected_items: int = 0  # partial success: data points / log records the server dropped



def _clip(text: str) -> str:
    flat = " ".join(redact_text(text).split())  # an error may quote the endpoint, ?api_key= and all
    return flat if len(flat) <= _MAX_MESSAGE else flat[: _MAX_MESSAGE - 3] + "..."


def _read(path: str | None) -> bytes | None:
    return Path(path).read_bytes() if path else None


def partial_success(payload: bytes, content_type: str = "application/x-protobuf") -> tuple[int, str]:
    """(items refused, the server's message) from an export response body: ``partial_success`` is field 1,
    holding ``rejected_data_points`` / ``rejected_log_records`` (1) and ``error_message`` (2) for either
    signal. A body that cannot be read says nothing was refused: the server accepted the request."""
    if not payload:
        return 0, ""
    if "json" in content_type:
        try:
            partial = json.loads(payload).get("partialSuccess") or {}
            rejected = partial.get("rejectedDataPoints", partial.get("rejectedLogRecords", 0))
            return int(rejected or 0), str(partial.get("errorMessage", ""))
        except (ValueError, TypeError, AttributeError):
            return 0, ""
    try:
        outer = read_fields(payload).get(1)
        if not outer or not isinstance(outer[-1], bytes):
            return 0, ""
        inner = read_fields(outer[-1])
        rejected = inner.get(1, [0])[-1]
        message = inner.get(2, [b""])[-1]
        return (as_int64(rejected) if isinstance(rejected, int) else 0,
                message.decode("utf-8", "replace") if isinstance(message, bytes) else "")
    except WireError:
        return 0, ""


def status_message(payload: bytes) -> str:
    """The ``message`` (field 2) of a ``google.rpc.Status`` body, or "" when it has none."""
    try:
        message = read_fields(payload).get(2, [b""])[-1]
    except WireError:
        return ""
    return message.decode("utf-8", "replace") if isinstance(message, bytes) else ""


def retry_delay(status: bytes) -> float | None:
    """The ``RetryInfo`` delay among a ``google.rpc.Status``'s details (field 3, ``Any``s), if any."""
    try:
        for detail in read_fields(status).get(3, []):
            if not isinstance(detail, bytes):
                continue
            fields = read_fields(detail)
            type_url = fields.get(1, [b""])[-1]
            if not (isinstance(type_url, bytes) and type_url.endswith(b"google.rpc.RetryInfo")):
                continue
            delay = read_fields(fields.get(2, [b""])[-1]).get(1, [b""])[-1]
            duration = read_fields(delay) if isinstance(delay, bytes) else {}
            seconds, nanos = duration.get(1, [0])[-1], duration.get(2, [0])[-1]
            return float(as_int64(seconds)) + as_int64(nanos) / 1e9
    except WireError:
        return None
    return None
