"""One HTTP POST of a JSON body, and what to do about its answer. The URL never appears in what it returns.

Retry on connection errors, timeouts, 408, 429 and 5xx; honour Retry-After (seconds or an HTTP date, or
Discord's ``retry_after`` in the JSON body); give up at once on other 4xx, which retrying cannot fix.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from otel_mon import __version__

_RESPONSE_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Outcome:
    ok: bool
    retry: bool  # worth another attempt
    reason: str  # one line, no URL
    retry_after: float | None = None  # seconds the server asked us to wait


def post_json(url: str, body: bytes, timeout: float, token: str | None = None) -> Outcome:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname or ""
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(host, parts.port, timeout=timeout, context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(host, parts.port, timeout=timeout)
    headers = {"Content-Type": "application/json", "User-Agent": f"otel-mon/{__version__}"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request("POST", target, body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read(_RESPONSE_LIMIT)
    except TimeoutError:
        return Outcome(False, True, f"timeout after {timeout:g}s")
    except ssl.SSLError as exc:
        return Outcome(False, True, f"TLS error: {exc.reason or exc.__class__.__name__}")
    except OSError as exc:
        return Outcome(False, True, exc.strerror or exc.__class__.__name__)
    except http.client.HTTPException as exc:
        return Outcome(False, True, f"bad HTTP response ({exc.__class__.__name__})")
    finally:
        conn.close()
    status = response.status
    if 200 <= status < 300:
        return Outcome(True, False, f"HTTP {status}")
    retry = status in (408, 429) or status >= 500
    wait = retry_after(response.getheader("Retry-After"), payload) if retry else None
    return Outcome(False, retry, f"HTTP {status}", wait)


def retry_after(header: str | None, payload: bytes, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta or HTTP date) or a JSON ``retry_after`` field."""
    if header:
        header = header.strip()
        try:
            return max(float(header), 0.0)
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return max(when.timestamp() - (time.time() if now is None else now), 0.0)
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    value = doc.get("retry_after") if isinstance(doc, dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return max(float(value), 0.0)
    return None
