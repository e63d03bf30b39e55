"""URLs as the agent may show them: never a query string (``?api_key=``) or user-info (``user:pass@``).

Every URL that reaches a log line, ``/health``, the status page or ``check-config --print`` goes through
:func:`redact_url`; :func:`redact_text` does the same for URLs inside free text (error messages).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")


def redact_url(url: str) -> str:
    """The URL without user-info, query string and fragment (a ``?...`` marks a removed query)."""
    text = url.strip()
    had_scheme = bool(_SCHEME_RE.match(text))
    try:
        parts = urlsplit(text if had_scheme else f"//{text}")
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc.rpartition("@")[2]
    out = f"{parts.scheme}://{netloc}{parts.path}" if had_scheme else f"{netloc}{parts.path}"
    return out + ("?..." if parts.query else "")


def needs_redaction(text: str) -> bool:
    """True when ``text`` is a URL carrying a query string or user-info."""
    if not _SCHEME_RE.match(text.strip()):
        return False
    try:
        parts = urlsplit(text.strip())
    except ValueError:
        return True
    return bool(parts.query) or "@" in parts.netloc or bool(parts.fragment)


def redact_text(text: str) -> str:
    """``text`` with every URL in it redacted."""
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)) if needs_redaction(m.group(0)) else m.group(0), text)
