"""Glob include/exclude lists for devices, mountpoints and interfaces, and the cached check against them."""

from __future__ import annotations

import fnmatch
import functools
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Filter:
    """Glob include/exclude lists: a name passes when it matches an include (or there are none) and no exclude."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@functools.lru_cache(maxsize=64)
def _compiled(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """All globs of a list as one regex, compiled once per filter (filters are checked every collection)."""
    return re.compile("|".join(fnmatch.translate(p) for p in patterns)) if patterns else None


@functools.lru_cache(maxsize=4096)
def allowed(name: str, flt: Filter) -> bool:
    """Whether ``name`` passes ``flt``; cached, as the same devices and mounts come back every collection."""
    include = _compiled(flt.include)
    if include is not None and not include.match(name):
        return False
    exclude = _compiled(flt.exclude)
    return exclude is None or not exclude.match(name)
