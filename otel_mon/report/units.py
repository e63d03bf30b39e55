"""How the report writes a figure for people: the text table and the HTML page use this one function."""

from __future__ import annotations

import math

_BYTES = {"B": ["B", "KiB", "MiB", "GiB", "TiB"], "B/s": ["B/s", "KiB/s", "MiB/s", "GiB/s", "TiB/s"]}


def fmt(value: float, unit: str) -> str:
    """A value for people: bytes (and bytes/s) in binary units with three significant digits, other figures with
    two decimals below 10, one below 100, none above (thousands separated)."""
    if not math.isfinite(value):
        return str(value)
    if unit in _BYTES:
        units = _BYTES[unit]
        size, i = abs(value), 0
        while size >= 1024 and i < len(units) - 1:
            size, i = size / 1024, i + 1
        return f"{math.copysign(size, value):.0f} {units[0]}" if i == 0 else \
            f"{math.copysign(size, value):.3g} {units[i]}"
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    text = f"{value:,.{digits}f}"
    return f"{text} {unit}" if unit else text
