"""A host domain's config section, declared in the domain's module: its top-level key and its dataclass.

``section=Section("<key>", <Domain>Config)`` in the ``DOMAIN`` of ``host/<domain>.py`` registers it:
``host/config.py`` assembles the host part of the settings from the domains' sections (the YAML key,
``OTEL_MON_<KEY>__...`` and ``--set <key>....`` follow), and the domain's ``build()`` takes its options back
with ``host.section(<Domain>Config)``. The section's defaults are the dataclass's own, so one class serves one
key (the lookup is by class).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Section(Generic[T]):
    """A domain's options: ``key`` is the top-level YAML key, ``cls`` a frozen dataclass whose defaults apply."""

    key: str
    cls: type[T]
    # The dataclass's own keys sit at the top level of the file (``process_groups:`` is a list there); ``key``
    # then only names the field inside the host section.
    inline: bool = False
