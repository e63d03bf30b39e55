"""Package roots that re-export names without importing them until first use.

A package root runs whenever any of its modules is imported: ``import otel_mon.forward.config`` would
otherwise load the forwarder, gRPC and protobuf through ``otel_mon/forward/__init__.py``. Roots therefore
declare ``__getattr__ = lazy.exports(__name__, {...})`` (PEP 562) and import for type checkers only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def exports(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """``__getattr__`` for ``package``: ``names`` maps an exported name to the submodule defining it."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return __getattr__
