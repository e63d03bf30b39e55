"""Other names for the same snapshot: ``/metrics/node_exporter`` (node_exporter's families, opt-in)."""

from typing import TYPE_CHECKING

from otel_mon import lazy

if TYPE_CHECKING:
    from otel_mon.compat.config import CompatConfig
    from otel_mon.compat.node_exporter import NodeExporterView

__getattr__ = lazy.exports(__name__, {
    "CompatConfig": "config",
    "NodeExporterView": "node_exporter",
})

__all__ = ["CompatConfig", "NodeExporterView"]
