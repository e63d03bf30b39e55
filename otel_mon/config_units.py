"""Config values with units: durations (``500ms``, ``10s``, ``2m``, ``1h``, ``7d``) and sizes (``32MiB``, ``1GiB``).

The annotation types a section declares (``Duration``, ``ByteSize``) and the one parser of each.
"""

from __future__ import annotations

import math
import re
from typing import Any

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
    "t": 1000**4, "tb": 1000**4, "ki": 1024, "kib": 1024, "mi": 1024**2, "mib": 1024**2,
    "gi": 1024**3, "gib": 1024**3, "ti": 1024**4, "tib": 1024**4,
}


MAX_DURATION = 365 * 86400.0


class Duration(float):
    """Seconds; accepts numbers or strings such as ``500ms``, ``10s``, ``2m``, ``1h``, ``7d``."""


class ByteSize(int):
    """Bytes; accepts numbers or strings such as ``32MiB``, ``1GiB``, ``500k``."""


def parse_duration(raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError("expected a duration such as 10s, 500ms or 2m")
    if isinstance(raw, (int, float)):
        value = float(raw)
    else:
        match = _DURATION_RE.match(str(raw))
        if not match:
            raise ValueError("expected a duration such as 10s, 500ms or 2m")
        value = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if not math.isfinite(value) or value < 0:
        raise ValueError("expected a finite duration that is not negative")
    if value > MAX_DURATION:  # every duration ends up in a wait(): beyond this the OS timeout overflows
        raise ValueError("expected a duration of at most 365d")
    return value


def parse_size(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError("expected a size such as 32MiB or 1GiB")
    if isinstance(raw, (int, float)):
        number = float(raw)
    else:
        match = _SIZE_RE.match(str(raw))
        if not match:
            raise ValueError("expected a size such as 32MiB or 1GiB")
        unit = (match.group(2) or "b").lower()
        number = float(match.group(1)) * _SIZE_UNITS[unit]
    if not math.isfinite(number):
        raise ValueError("expected a finite size")
    value = int(number)
    if value < 0:
        raise ValueError("expected a size that is not negative")
    return value
