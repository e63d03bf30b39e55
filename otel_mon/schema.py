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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from otel_mon.urls import needs_redaction, redact_url

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


_NO_VALUE: Any = object()


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a section, relative to it; only :func:`render` turns it into text.

    ``value`` is shown as ``repr`` (``'***'`` when the field is a secret, left out when not given);
    ``hidden`` shows ``(not shown)`` instead (header values); ``plain`` is a problem that is not about a
    value (an unknown name): ``field: reason``.
    """

    field: str
    reason: str
    value: Any = _NO_VALUE
    hidden: bool = False
    plain: bool = False


class Invalid(ValueError):
    """Raised by a section's validator (its ``__post_init__``, through :func:`check`) with typed problems.

    ``str()`` is one rendered line per problem, relative to the section; :func:`build` prefixes the path.
    """

    def __init__(self, cls: type, problems: Sequence[Problem]) -> None:
        self.cls = cls
        self.found = list(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self, path: str = "") -> list[str]:
        return [render(f"{path}.{p.field}" if path else p.field, p, _is_secret(self.cls, p.field))
                for p in self.found]


def check(obj: object, problems: Iterable[Problem]) -> None:
    """A validator's last line: raise :class:`Invalid` when it found anything. No I/O belongs in validators:
    files, secrets and programs are looked at once, after validation (``otel_mon.config.resolve``)."""
    found = list(problems)
    if found:
        raise Invalid(type(obj), found)


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}


def render(path: str, problem: Problem, secret: bool = False) -> str:
    """The one format of a config problem: ``path: invalid value <value>: <reason>``, always one line (a key
    from the document may hold a newline: it is shown escaped)."""
    path = _clip(path.translate(_CONTROL))
    reason = _clip(problem.reason.translate(_CONTROL))  # a reason may quote the user's input
    if problem.plain:
        return f"{path}: {reason}"
    if problem.hidden:
        shown = " (not shown)"
    elif problem.value is _NO_VALUE:
        shown = ""
    else:
        shown = " '***'" if secret else f" {_fmt(problem.value)}"
    return f"{path}: invalid value{shown}: {reason}"


def invalid(path: str, value: Any, reason: str, secret: bool = False) -> str:
    """A rendered problem about a value that is not a section field (an environment variable, a flag)."""
    return render(path, Problem(path, reason, value), secret)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _is_secret(cls: type, dotted: str) -> bool:
    name = re.split(r"[.\[]", dotted, maxsplit=1)[0]
    if not dataclasses.is_dataclass(cls):
        return False
    for f in dataclasses.fields(cls):
        if f.name == name:
            return bool(f.metadata.get("secret"))
    return False


def inline(cls: type[T]) -> T:
    """A section whose keys sit at the level of the enclosing one (``cpu.per_logical``, not ``host.cpu.per_logical``).

    The agent's top level is shared by a few small sections (the resource, the host domains); each is still
    its own dataclass, handed alone to its component.
    """
    return dataclasses.field(default_factory=cls, metadata={"inline": cls})


def _section_type(f: dataclasses.Field[Any], hints: dict[str, Any]) -> Any:
    """The class a field is built as: an inline section's own (it may be assembled at run time, a subclass of
    the annotation, as the host domains' section is), else the annotation."""
    return f.metadata.get("inline") or hints[f.name]


def internal(default_factory: Any) -> Any:
    """A field filled by the loader, never from a source (resolved secrets): no key, not printed."""
    return dataclasses.field(default_factory=default_factory, metadata={"internal": True}, repr=False,
                             compare=False)


def keys(cls: type) -> dict[str, tuple[tuple[str, ...], Any]]:
    """Every key ``cls`` accepts -> (attribute path, type); keys of inline sections are lifted up."""
    hints = get_type_hints(cls)
    out: dict[str, tuple[tuple[str, ...], Any]] = {}
    for f in dataclasses.fields(typing.cast(Any, cls)):
        if not f.init or f.metadata.get("internal"):
            continue
        if f.metadata.get("inline"):
            for key, (attrs, tp) in keys(_section_type(f, hints)).items():
                out[key] = ((f.name, *attrs), tp)
        else:
            out[f.name] = ((f.name,), hints[f.name])
    return out


def secret(default: Any = None, default_factory: Any = None) -> Any:
    """A field whose value is never logged or written: redacted by :func:`redacted`."""
    if default_factory is not None:
        return dataclasses.field(default_factory=default_factory, metadata={"secret": True})  # nosec B105  # a flag, not a password
    return dataclasses.field(default=default, metadata={"secret": True})  # nosec B105  # a flag, not a password


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
    return _clip(repr(raw), 200)  # room for a whole path


def _clip(text: str, limit: int = 300) -> str:
    """Keep a problem line readable however long the input it quotes."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


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
    owner = {key: name for name in inlined for key in keys(_section_type(fields[name], hints))}
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
        section = build(_section_type(fields[name], hints), sub_raw[name], path, problems)
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
            if f.metadata.get("internal"):
                continue
            if f.metadata.get("inline"):
                out.update(redacted(value))
            elif f.metadata.get("secret"):
                out[f.name] = "***" if value else value
            else:
                out[f.name] = redacted(value)
        return out
    if isinstance(obj, (list, tuple)):
        return [redacted(v) for v in obj]
    if isinstance(obj, dict):
        return {k: redacted(v) for k, v in obj.items()}
    if isinstance(obj, str) and needs_redaction(obj):
        return redact_url(obj)  # an endpoint's ?api_key= or user:pass@ is a secret too
    return obj
