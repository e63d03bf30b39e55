"""Turn plain mappings (YAML, env, flags) into typed, frozen dataclasses.

Every config section in the package is a dataclass with defaults; this module is the only place that
knows how to coerce and check values, so every section reports bad input the same way: one line naming
the dotted field path and the offending value. Unknown keys are errors with a did-you-mean.
"""

from __future__ import annotations

import dataclasses
import keyword
import math
import re
import types
import typing
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from otel_mon.config_fields import inline, internal, is_secret, keys, secret, section_type
from otel_mon.config_problems import ConfigError, Invalid, Problem, check, did_you_mean, invalid, render
from otel_mon.config_tree import merge, redacted, set_path
from otel_mon.config_units import MAX_DURATION, ByteSize, Duration, parse_duration, parse_size

# The names every section imports from here (one place to import the config vocabulary from).
__all__ = ["MAX_DURATION", "ByteSize", "ConfigError", "Duration", "Invalid", "Problem", "build", "check",
           "did_you_mean", "inline", "internal", "invalid", "is_secret", "keys", "merge", "parse_duration",
           "parse_key_values", "parse_size", "redacted", "render", "secret", "set_path"]

T = TypeVar("T")


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

    def bad(reason: str, value: Any = raw) -> None:
        problems.append(invalid(path, value, reason, secret))

    optional, inner = _is_optional(tp)
    if raw is None:
        if optional:
            return None
        bad("a value is required")
        return None
    tp = inner
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return build(typing.cast(type, tp), raw, path, problems)
    if origin is typing.Literal:
        allowed = get_args(tp)
        if raw not in allowed:
            bad(f"expected one of {', '.join(map(str, allowed))}{did_you_mean(str(raw), [str(a) for a in allowed])}")
        return raw
    if origin in (list, tuple):
        (item_tp, *_rest) = get_args(tp) or (str,)
        if isinstance(raw, str):
            raw = [part.strip() for part in raw.split(",") if part.strip()]
        if not isinstance(raw, (list, tuple)):
            bad("expected a list")
            return ()
        return tuple(_coerce(item_tp, item, f"{path}[{i}]", problems, secret) for i, item in enumerate(raw))
    if origin is dict:
        _key_tp, val_tp = get_args(tp)
        if isinstance(raw, str):
            try:
                raw = parse_key_values(raw)
            except ValueError:
                bad("expected key=value pairs separated by commas")
                return {}
        if not isinstance(raw, dict):
            bad("expected a mapping")
            return {}
        return {str(k): _coerce(val_tp, v, f"{path}.{k}", problems, secret) for k, v in raw.items()}
    try:
        return _coerce_scalar(tp, raw)
    except ValueError as exc:
        bad(str(exc))
        return None


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
    """Build ``cls`` from a mapping; collect problems instead of stopping at the first one.

    Inline sections (:func:`inline`) take their keys from this level; each section is built (and its
    validator run) on its own, so its problems carry the same paths as the keys the user wrote.
    """
    own = problems is None
    problems = [] if problems is None else problems
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        problems.append(invalid(path or "<root>", raw, "expected a mapping"))
        raw = {}
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(typing.cast(Any, cls))
              if f.init and not f.metadata.get("internal")}
    inlined = [name for name, f in fields.items() if f.metadata.get("inline")]
    owner = {key: name for name in inlined for key in keys(section_type(fields[name], hints))}
    accepted = [name for name in fields if name not in inlined] + list(owner)
    sub_raw: dict[str, dict[str, Any]] = {name: {} for name in inlined}
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        name = str(key).replace("-", "_")
        if name not in accepted and keyword.iskeyword(name):
            name += "_"  # YAML `for:` is the field `for_` (a Python keyword cannot be a field name)
        field_path = f"{path}.{name}" if path else name
        if name in owner:
            sub_raw[owner[name]][name] = value
            continue
        if name not in accepted:
            problems.append(render(field_path, Problem(name, f"unknown key{did_you_mean(name, accepted)}",
                                                       plain=True)))
            continue
        before = len(problems)
        coerced = _coerce(hints[name], value, field_path, problems, bool(fields[name].metadata.get("secret")))
        if len(problems) == before:
            kwargs[name] = coerced
    for name in inlined:
        before = len(problems)
        section = build(section_type(fields[name], hints), sub_raw[name], path, problems)
        if len(problems) == before:
            kwargs[name] = section
    try:
        obj = cls(**kwargs)
    except Invalid as exc:
        problems.extend(exc.lines(path))
        obj = cls()
    except ValueError as exc:
        # A validator not yet on :func:`check`: one "field: ..." line per problem, relative to cls.
        for line in str(exc).splitlines():
            problems.append(f"{path}.{line}" if path else line)
        obj = cls()
    if own and problems:
        raise ConfigError(problems)
    return obj


