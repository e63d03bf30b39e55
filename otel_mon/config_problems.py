"""What is wrong with a config, in one format: ``path: invalid value <value>: <reason>``, one line each.

A section's validator collects :class:`Problem` s and ends with :func:`check`; only :func:`render` turns a
problem into text, so every section reports bad input the same way (``'***'`` for a secret field).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from otel_mon.config_fields import is_secret


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
        return [render(f"{path}.{p.field}" if path else p.field, p, is_secret(self.cls, p.field))
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


def _fmt(raw: Any) -> str:
    return _clip(repr(raw), 200)  # room for a whole path


def _clip(text: str, limit: int = 300) -> str:
    """Keep a problem line readable however long the input it quotes."""
    return text if len(text) <= limit else text[:limit - 3] + "..."
