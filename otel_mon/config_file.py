"""A config file read as YAML, bounded: the file's size, the document's depth and value count, no key twice.

Every problem is one ``ConfigError`` line naming the file (and the line where YAML knows it). Only reading and
decoding happen here; ``config.load`` merges the result with the other sources and ``schema`` checks the keys.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from otel_mon.schema import ConfigError

# A config file is a page of YAML; these bounds keep a wrong path (/dev/zero), a runaway generator or an alias
# bomb from exhausting memory or the stack before one line can say what is wrong.
MAX_CONFIG_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 32
MAX_VALUES = 100_000


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *defaults` then overriding a key is what merge keys are for
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            try:
                if key in first_line:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first on line {first_line[key] + 1})",
                        key_node.start_mark)
                first_line[key] = key_node.start_mark.line
            except TypeError:
                continue  # an unhashable key: the base class reports it
        return super().construct_mapping(node, deep)


def load_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    where = repr(str(path))
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError([f"config: cannot read {where}: not a regular file"])
        if st.st_size > MAX_CONFIG_BYTES:
            raise ConfigError([f"config: cannot read {where}: larger than {MAX_CONFIG_BYTES // 2**20} MiB"])
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"config: cannot read {where}: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"config: cannot read {where}: not UTF-8 text"]) from None
    try:
        data = yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506  # nosec B506  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([f"config: {where}{line}: not valid YAML: {reason}"]) from None
    except RecursionError:
        raise ConfigError([f"config: {where}: not valid YAML: nested deeper than {MAX_DEPTH} levels"]) from None
    except (ValueError, TypeError, AttributeError, LookupError, OverflowError) as exc:
        # PyYAML's constructors raise these for tagged scalars they cannot build (!!int abc, !!timestamp x,
        # an empty !!int, !!bool maybe, an integer beyond Python's digit limit).
        reason = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise ConfigError([f"config: {where}: not valid YAML: a value cannot be read ({reason})"]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([f"config: {where}: expected a mapping at the top level, got {type(data).__name__}"])
    problem = shape_problem(data)
    if problem:
        raise ConfigError([f"config: {where}: {problem}"])
    return data


def shape_problem(data: Any) -> str | None:
    """Why a decoded document is too deep or too large to be a config, or None. Iterative: no recursion to
    overflow, and it stops counting at the limit (aliases can make a small file a huge tree)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    seen = 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            return f"more than {MAX_VALUES} values (aliases?)"
        if depth > MAX_DEPTH:
            return f"nested deeper than {MAX_DEPTH} levels"
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return None
