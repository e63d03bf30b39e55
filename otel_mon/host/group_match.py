"""Which process group a process joins: the ``process_groups:`` entries, their matchers and name templates.

An entry matches when every matcher it gives matches (``comm``, ``exe`` and ``cmdline`` are regexes searched in
the process's command name, executable path and space-joined command line; ``user`` is a name or a uid); the
first entry that matches wins (process-exporter's rule). ``name`` may be a template over ``{comm}``, ``{exe}``
(the executable's base name), ``{exe_path}``, ``{user}`` and ``{unit}`` (the systemd unit). The process's
fields are fetched lazily (``Facts``): the executable and command line are read only for an entry that asks.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass

from otel_mon.schema import Problem, check

FIELDS = ("comm", "exe", "exe_path", "user", "unit")
MAX_GROUPS = 1000


def _template_fields(template: str) -> list[str] | None:
    """The placeholders of a ``{field}`` template, None when it does not parse."""
    try:
        return [name for _, name, spec, conv in string.Formatter().parse(template) if name is not None]
    except ValueError:
        return None


@dataclass(frozen=True)
class GroupConfig:
    """One ``process_groups`` entry."""

    name: str = ""
    comm: str | None = None
    exe: str | None = None
    cmdline: str | None = None
    user: str | None = None
    children: bool = False  # a matched process's descendants join its group, whatever they match themselves

    def __post_init__(self) -> None:
        if (self.name, self.comm, self.exe, self.cmdline, self.user) == ("", None, None, None, None):
            return  # the blank entry the loader builds after a failed one (the section refuses it)
        out: list[Problem] = []
        if not self.name.strip():
            out.append(Problem("name", "a process group needs a name (a template such as '{comm}' is fine)",
                               self.name))
        fields = _template_fields(self.name)
        if fields is None:
            out.append(Problem("name", "not a valid template (unbalanced braces)", self.name))
        else:
            out += [Problem("name", f"unknown template field {{{f}}}; expected one of "
                                    f"{', '.join('{' + x + '}' for x in FIELDS)}", self.name)
                    for f in fields if f not in FIELDS]
        for key in ("comm", "exe", "cmdline"):
            pattern = getattr(self, key)
            if pattern is None:
                continue
            try:
                re.compile(pattern)
            except re.error as exc:
                out.append(Problem(key, f"not a regular expression: {exc}", pattern))
        if self.user is not None and not self.user.strip():
            out.append(Problem("user", "expected a user name or a uid", self.user))
        if all(getattr(self, k) is None for k in ("comm", "exe", "cmdline", "user")):
            out.append(Problem("comm", "a process group needs at least one matcher: comm, exe, cmdline or user",
                               None))
        check(self, out)

    @property
    def static(self) -> bool:
        """The name has no placeholder: the group exists (with 0 processes) before anything matches it."""
        return not _template_fields(self.name)

    def what(self) -> str:
        """What the entry matches, as people read it (``comm=~^nginx$, user=www-data``)."""
        parts = [f"{k}=~{getattr(self, k)}" for k in ("comm", "exe", "cmdline") if getattr(self, k) is not None]
        if self.user is not None:
            parts.append(f"user={self.user}")
        return ", ".join(parts)


class Facts:
    """A process's fields, each read on first use (``read`` raises OSError when a file cannot be read)."""

    def __init__(self, comm: str, uid: Callable[[], int], user_name: Callable[[int], str],
                 exe: Callable[[], str], cmdline: Callable[[], str], unit: Callable[[], str]) -> None:
        self.comm = comm
        self._uid, self._user_name, self._exe, self._cmdline, self._unit = uid, user_name, exe, cmdline, unit
        self._cache: dict[str, str] = {}

    def get(self, key: str) -> str:
        if key == "comm":
            return self.comm
        if key not in self._cache:
            if key == "uid":
                self._cache[key] = str(self._uid())
            elif key == "user":
                self._cache[key] = self._user_name(int(self.get("uid")))
            elif key == "exe_path":
                self._cache[key] = self._exe()
            elif key == "exe":
                self._cache[key] = self.get("exe_path").rsplit("/", 1)[-1]
            elif key == "cmdline":
                self._cache[key] = self._cmdline()
            elif key == "unit":
                self._cache[key] = self._unit()
        return self._cache[key]


class Matcher:
    """The entries, compiled once."""

    def __init__(self, groups: tuple[GroupConfig, ...]) -> None:
        self.groups = groups
        self._compiled = [
            tuple((key, re.compile(getattr(g, key))) for key in ("comm", "exe", "cmdline")
                  if getattr(g, key) is not None) for g in groups]
        self.fields = [_template_fields(g.name) or [] for g in groups]

    def match(self, facts: Facts) -> int | None:
        """The index of the first entry the process matches, or None. An unreadable field fails its matcher."""
        for i, group in enumerate(self.groups):
            try:
                if group.user is not None and group.user not in (facts.get("user"), facts.get("uid")):
                    continue
                if all(rx.search(facts.get("exe_path" if key == "exe" else key)) for key, rx in self._compiled[i]):
                    return i
            except OSError:
                continue
        return None

    def name(self, index: int, facts: Facts) -> str:
        """The group's name for this process; an unreadable field reads as ``?``."""
        group = self.groups[index]
        if not self.fields[index]:
            return group.name
        values = {}
        for key in self.fields[index]:
            try:
                values[key] = facts.get(key) or "?"
            except OSError:
                values[key] = "?"
        return group.name.format_map(values)
