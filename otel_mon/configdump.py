"""Settings back to YAML, with units (``10s``, ``32MiB``), in the shape the loader accepts as is.

``check-config --print`` writes it and ``--config`` reads it back to the same settings (a round-trip test
holds them to that); secrets print as ``'***'``.
"""

from __future__ import annotations

import keyword
from typing import Any

import yaml

from otel_mon.schema import ByteSize, Duration, redacted

_DURATION_UNITS = (("d", 86400.0), ("h", 3600.0), ("m", 60.0), ("s", 1.0), ("ms", 0.001))
_SIZE_UNITS = (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024),
               ("TB", 1000**4), ("GB", 1000**3), ("MB", 1000**2), ("kB", 1000))


def format_duration(seconds: float) -> str:
    """The largest unit that states the value exactly: ``7d``, ``1h``, ``2m``, ``10s``, ``500ms``, ``0.25ms``."""
    for unit, size in _DURATION_UNITS:
        count = seconds / size
        if count >= 1 and round(count, 9) == int(round(count, 9)):
            return f"{round(count)}{unit}"
    if seconds == 0:
        return "0s"
    return f"{seconds:.9g}s"


def format_size(size: int) -> str:
    """``32MiB``, ``1GiB``, ``500kB``; bytes as a bare number when no unit divides them."""
    for unit, factor in _SIZE_UNITS:
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


class _Dumper(yaml.SafeDumper):
    """Durations and sizes as strings with units; tuples as lists."""


_Dumper.add_representer(Duration, lambda d, v: d.represent_str(format_duration(float(v))))
_Dumper.add_representer(ByteSize, lambda d, v: d.represent_str(format_size(int(v))))
_Dumper.add_representer(tuple, lambda d, v: d.represent_list(list(v)))
# A threshold given as 75 is coerced to 75.0: print it as given, so a printed file prints the same again.
_Dumper.add_representer(float, lambda d, v: d.represent_int(int(v)) if v.is_integer() else d.represent_float(v))


def _yaml_keys(obj: Any) -> Any:
    """``for_`` (a Python keyword as a field) back to its YAML key ``for``."""
    if isinstance(obj, dict):
        return {(k[:-1] if isinstance(k, str) and k.endswith("_") and keyword.iskeyword(k[:-1]) else k): _yaml_keys(v)
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [_yaml_keys(v) for v in obj]
    return obj


def to_yaml(settings: Any) -> str:
    """Any config object (the whole settings or one section) as YAML, secrets redacted."""
    return yaml.dump(_yaml_keys(redacted(settings)), Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=120)
