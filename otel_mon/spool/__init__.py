"""The spool: rotating OTLP-JSON line files on disk, the agent's write-ahead log (``docs/spool-format.md``).

The SDK exporters live in ``otel_mon.spool.exporters`` and are not re-exported here, so ``report`` and
``tail`` read the spool without importing the OpenTelemetry SDK.
"""

from typing import TYPE_CHECKING

from otel_mon import lazy

if TYPE_CHECKING:
    from otel_mon.spool.config import SpoolConfig
    from otel_mon.spool.reader import SpoolReader
    from otel_mon.spool.writer import SpoolLockedError, SpoolWriter

__getattr__ = lazy.exports(__name__, {
    "SpoolConfig": "config",
    "SpoolReader": "reader",
    "SpoolLockedError": "writer",
    "SpoolWriter": "writer",
})

__all__ = ["SpoolConfig", "SpoolLockedError", "SpoolReader", "SpoolWriter"]
