"""The ``compat`` section: which other views of the snapshot the HTTP server offers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CompatConfig:
    """``compat: {node_exporter: true}`` serves ``/metrics/node_exporter`` (node_exporter's names and labels for
    the same readings as ``/metrics``). Off by default: it is a second rendering per collection."""

    node_exporter: bool = False
