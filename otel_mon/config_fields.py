"""How a section declares its fields beyond a type: inline sections, secrets, loader-filled fields, its keys."""

from __future__ import annotations

import dataclasses
import re
import typing
from typing import Any, TypeVar, get_type_hints

T = TypeVar("T")


def is_secret(cls: type, dotted: str) -> bool:
    """Whether the field ``dotted`` (``token``, ``headers.x``, ``items[0]``) of ``cls`` is a secret."""
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


def section_type(f: dataclasses.Field[Any], hints: dict[str, Any]) -> Any:
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
            for key, (attrs, tp) in keys(section_type(f, hints)).items():
                out[key] = ((f.name, *attrs), tp)
        else:
            out[f.name] = ((f.name,), hints[f.name])
    return out


def secret(default: Any = None, default_factory: Any = None) -> Any:
    """A field whose value is never logged or written: redacted by :func:`redacted`."""
    if default_factory is not None:
        return dataclasses.field(default_factory=default_factory, metadata={"secret": True})  # nosec B105  # a flag, not a password
    return dataclasses.field(default=default, metadata={"secret": True})  # nosec B105  # a flag, not a password
