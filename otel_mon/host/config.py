"""The host domains' part of the settings, assembled from the domains' own registrations.

``collectors`` (which domains run) is this module's own key; every other key is a domain's section, declared in
its registration (``DOMAIN = Domain(..., section=Section(key, cls))``, ``host/domain.py``) and added here as a
field of the assembled dataclass ``HOST_CONFIG``, so ``schema`` coerces and checks it like any section, and the
YAML key, the ``OTEL_MON_<KEY>__...`` variables and ``--set <key>....`` need no more code. Nothing here names a domain.
``Settings`` holds the section inline (its keys sit at the top level of the file). Code reads a domain's
options through the typed accessor ``host.section(cls)`` (``cls``: the domain's own class). See
docs/architecture.md, "Adding a config section".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar, cast

from otel_mon.host.domain import Domain
from otel_mon.host.section import Section
from otel_mon.host.table import DOMAINS, HOST_DOMAINS, OFF_BY_DEFAULT
from otel_mon.schema import Problem, check, did_you_mean

T = TypeVar("T")


def default_collectors() -> dict[str, bool]:
    return {name: name not in OFF_BY_DEFAULT for name in HOST_DOMAINS}


@dataclass(frozen=True)
class HostConfig:
    """The typed face of the host section: ``collectors`` and, by class, each domain's own section.

    The class the loader builds is :data:`HOST_CONFIG`, this plus one field per registered section.
    """

    # section class -> its field (filled in by assemble(); empty on this base, which has no sections)
    _sections: ClassVar[Mapping[type, str]] = {}

    collectors: dict[str, bool] = field(default_factory=default_collectors)

    def __post_init__(self) -> None:
        check(self, [Problem(f"collectors.{name}", f"unknown collector{did_you_mean(name, HOST_DOMAINS)}",
                             plain=True) for name in self.collectors if name not in HOST_DOMAINS])

    def collector_enabled(self, domain: str) -> bool:
        return self.collectors.get(domain, domain not in OFF_BY_DEFAULT)

    def section(self, cls: type[T]) -> T:
        """The options of the domain that registered ``cls`` (a domain's ``build()`` asks for its own)."""
        key = self._sections.get(cls)
        if key is None:
            raise LookupError(f"no host domain registers a section of type {cls.__name__}")
        value = getattr(self, key)
        if not isinstance(value, cls):  # only a caller bypassing the loader could get here
            raise TypeError(f"host section {key!r} holds {type(value).__name__}, not {cls.__name__}")
        return value


def sections(domains: Sequence[Domain]) -> tuple[Section[Any], ...]:
    """The sections the domains register, in domain order; a clash is a programming error."""
    found = tuple(d.section for d in domains if d.section is not None)
    keys = [s.key for s in found]
    classes = [s.cls for s in found]
    clash = {k for k in keys if keys.count(k) > 1} | {"collectors"} & set(keys)
    if clash or len(set(classes)) != len(classes):
        raise TypeError(f"host domains register clashing sections: keys {sorted(clash)}, classes {classes}")
    for s in found:
        if not dataclasses.is_dataclass(s.cls):
            raise TypeError(f"section {s.key!r}: {s.cls.__name__} is not a dataclass")
    return found


def assemble(domains: Sequence[Domain]) -> type[HostConfig]:
    """:class:`HostConfig` plus one field per registered section (its key, its class, the class's defaults)."""
    found = sections(domains)
    cls = dataclasses.make_dataclass(
        "HostConfig",
        [(s.key, s.cls, field(default_factory=s.cls, metadata={"inline": s.cls} if s.inline else {}))
         for s in found],
        bases=(HostConfig,),
        frozen=True,
        namespace={"__module__": __name__, "_sections": {s.cls: s.key for s in found}},
    )
    return cast("type[HostConfig]", cls)


HOST_CONFIG: type[HostConfig] = assemble(DOMAINS)
