"""``Retry-After`` (RFC 9110 section 10.2.3): delta-seconds or an HTTP date, as seconds to wait.

Used by the OTLP HTTP sender and the webhook notifier; gRPC carries its delay in ``RetryInfo`` instead.
"""

from __future__ import annotations

import math
import time
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait (never negative), or None when the header is absent or unreadable.

    Fractional seconds are accepted (some services send them although the RFC says integer).
    """
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)
