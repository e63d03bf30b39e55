"""The forwarder's position in the spool: the spool's cursor (``otel_mon.spool.cursor_files``) named ``forward``.

It moves only after an ack, so a restart resumes where the last ack left off. A cursor that is missing or
unreadable means "start at the oldest segment": that resends rather than loses (at-least-once).
"""

from __future__ import annotations

from pathlib import Path

from otel_mon.spool import cursor_files

CONSUMER = "forward"


def cursor_path(signal_dir: Path) -> Path:
    """The forwarder's cursor file in ``<data_dir>/<signal>``."""
    return cursor_files.cursor_path(signal_dir, CONSUMER)
