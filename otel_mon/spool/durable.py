"""Durability on disk: what makes a create, rename or unlink survive a crash (the data's own fsync is the
writer's). Apart from ``segments.py`` (names and listing): the writer, retention and the cursor files all
need it, for files that are not segments too."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make a create, rename or unlink in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
