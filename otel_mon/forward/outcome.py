"""What a send attempt comes to (ok, retry, hold, reject) and the helpers both senders share."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from google.protobuf.message import Message

from otel_mon import __version__
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


def _partial(response: Message) -> tuple[int, str]:
    partial = getattr(response, "partial_success", None)
    if partial is None:
        return 0, ""
    rejected = int(getattr(partial, "rejected_data_points", 0) or getattr(partial, "rejected_log_records", 0))
    return rejected, str(partial.error_message)
