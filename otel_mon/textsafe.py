"""Text for a terminal or a line-oriented log: control characters shown as escapes, never written raw.

Process names, mountpoints, interface names, sensor labels, unit names and textfile label values come from the
host, and any local user can choose some of them (``exec -a``, a comm set with prctl): a newline there forges a
whole log line, an ESC drives the operator's terminal. The text sinks (the console log, ``otel-mon tail``, the
``report`` table) pass every line through :func:`printable`; JSON output escapes by itself.
"""

from __future__ import annotations

import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# C0, DEL and C1 controls; line and paragraph separators; bidirectional overrides and isolates (they reorder
# what the terminal shows).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character replaced by its escape (``\\n``, ``\\x1b``, ``\\u202e``)."""
    return _UNSAFE.sub(_escape, text)
