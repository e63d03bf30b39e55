"""Turn plain mappings (YAML, env, flags) into typed, frozen dataclasses.

Every config section in the package is a dataclass with defaults; this module is the only place that
knows how to coerce and check values, so every section reports bad input the same way: one line naming
the dotted field path and the offending value. Unknown keys are errors with a did-you-mean.
"""

from __future__ import annotations

import dataclasses
import difflib
import keyword
import math
import re
import types
import typing
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")

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


class ConfigError(Exception):
    """One or more problems, each a single line naming the field and the value."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def secret(default: Any = None, default_factory: Any = None) -> Any:
    """A field whose value is never logged or written: redacted by :func:`redacted`."""
    if default_factory is not None:
        return dataclasses.field(default_factory=default_factory, metadata={"secret": True})
    return dataclasses.field(default=default, metadata={"secret": True})


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


def _fmt(raw: Any) -> str:
    text = repr(raw)
    return text if len(text) <= 80 else text[:77] + "..."


def _coerce_scalar(tp: Any, raw: Any) -> Any:
    if tp is Duration:
        return Duration(parse_duration(raw))
    if tp is ByteSize:
        return ByteSize(parse_size(raw))
    if tp is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if isinstance(raw, str) and raw.strip().lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError("expected true or false")
    if tp is int:
        if isinstance(raw, bool):
            raise ValueError("expected an integer")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, str) and re.fullmatch(r"\s*-?\d+\s*", raw):
            return int(raw)
        raise ValueError("expected an integer")
    if tp is float:
        if isinstance(raw, bool):
            raise ValueError("expected a number")
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise ValueError("expected a number") from None
        if not math.isfinite(number):
            raise ValueError("expected a finite number")
        return number
    if tp is str:
        if isinstance(raw, (str, int, float)) and not isinstance(raw, bool):
            return str(raw)
        raise ValueError("expected a string")
    raise TypeError(f"unsupported config type {tp!r}")


def _is_optional(tp: Any) -> tuple[bool, Any]:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return True, args[0]
    return False, tp


def _coerce(tp: Any, raw: Any, path: str, problems: list[str], secret: bool = False) -> Any:
    """``raw`` as ``tp``; problems name the path and the value (``'***'`` for a secret field)."""
    shown = "'***'" if secret else None

    def fmt(value: Any) -> str:
        return shown or _fmt(value)

    optional, inner = _is_optional(tp)
    if raw is None:
        if optional:
            return None
        problems.append(f"{path}: invalid value None: a value is required")
        return None
    tp = inner
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return build(typing.cast(type, tp), raw, path, problems)
    if origin is typing.Literal:
        allowed = get_args(tp)
        if raw not in allowed:
            hint = _did_you_mean(str(raw), [str(a) for a in allowed])
            problems.append(f"{path}: invalid value {fmt(raw)}: expected one of {', '.join(map(str, allowed))}{hint}")
        return raw
    if origin in (list, tuple):
        (item_tp, *_rest) = get_args(tp) or (str,)
        if isinstance(raw, str):
            raw = [part.strip() for part in raw.split(",") if part.strip()]
        if not isinstance(raw, (list, tuple)):
            problems.append(f"{path}: invalid value {fmt(raw)}: expected a list")
            return ()
        return tuple(_coerce(item_tp, item, f"{path}[{i}]", problems, secret) for i, item in enumerate(raw))
    if origin is dict:
        _key_tp, val_tp = get_args(tp)
        if isinstance(raw, str):
            try:
                raw = parse_key_values(raw)
            except ValueError:
                problems.append(f"{path}: invalid value {fmt(raw)}: expected key=value pairs separated by commas")
                return {}
        if not isinstance(raw, dict):
            problems.append(f"{path}: invalid value {fmt(raw)}: expected a mapping")
            return {}
        return {str(k): _coerce(val_tp, v, f"{path}.{k}", problems, secret) for k, v in raw.items()}
    try:
        return _coerce_scalar(tp, raw)
    except ValueError as exc:
        problems.append(f"{path}: invalid value {fmt(raw)}: {exc}")
        return None


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_key_values(raw: str) -> dict[str, str]:
    """``k1=v1,k2=v2`` as used by OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS."""
    from urllib.parse import unquote

    out: dict[str, str] = {}
    for part in raw.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"expected key=value pairs, got {part.strip()!r}")
        out[unquote(key.strip())] = unquote(value.strip())
    return out


def build(cls: type[T], raw: Any, path: str = "", problems: list[str] | None = None) -> T:
    """Build ``cls`` from a mapping; collect problems instead of stopping at the first one."""
    own = problems is None
    problems = [] if problems is None else problems
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        problems.append(f"{path or '<root>'}: invalid value {_fmt(raw)}: expected a mapping")
        raw = {}
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(typing.cast(Any, cls)) if f.init}
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        name = str(key).replace("-", "_")
        if name not in fields and keyword.iskeyword(name):
            name += "_"  # YAML `for:` is the field `for_` (a Python keyword cannot be a field name)
        field_path = f"{path}.{name}" if path else name
        if name not in fields:
            hint = _did_you_mean(name, list(fields))
            problems.append(f"{field_path}: unknown key{hint}")
            continue
        before = len(problems)
        coerced = _coerce(hints[name], value, field_path, problems, bool(fields[name].metadata.get("secret")))
        if len(problems) == before:
            kwargs[name] = coerced
    try:
        obj = cls(**kwargs)
    except ValueError as exc:
        # __post_init__ reports one problem per line, each starting with the field name relative to cls.
        for line in str(exc).splitlines():
            problems.append(f"{path}.{line}" if path else line)
        obj = cls()
    if own and problems:
        raise ConfigError(problems)
    return obj


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``over`` onto ``base`` (later sources win, mappings merge key by key)."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def set_path(tree: dict[str, Any], parts: list[str], value: Any) -> None:
    dotted = ".".join(parts)
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ValueError(f"{dotted}: {part} is not a section")
    node[parts[-1]] = value


def redacted(obj: Any) -> Any:
    """A plain, JSON-able view of a config object with every secret field replaced by ``***``."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if f.metadata.get("secret"):
                out[f.name] = "***" if value else value
            else:
                out[f.name] = redacted(value)
        return out
    if isinstance(obj, (list, tuple)):
        return [redacted(v) for v in obj]
    if isinstance(obj, dict):
        return {k: redacted(v) for k, v in obj.items()}
    return obj
