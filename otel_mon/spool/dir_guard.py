"""The spool directory's lock and identity: notice the directory deleted or replaced, take it back.

Two ``stat`` calls per append; without them writes would go into unlinked files until rotation and a second
agent could lock the new directory.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from otel_mon.spool.segment_log import DirLock, SpoolLockedError, identity, private_dirs

log = logging.getLogger("otel_mon.spool.writer")


class DirGuard:
    """Holds ``<root>/.lock``; ``lost`` is True while the directory cannot be taken again after a deletion."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root_id = identity(root)
        self._relocking = threading.Lock()
        self.lost = False
        self._lock = DirLock(root)

    def check(self) -> None:
        """Recreate and relock the directory if it was deleted or its lock file replaced; logs what it did."""
        if identity(self.root) == self._root_id and self._lock.held():
            return
        with self._relocking:
            if identity(self.root) != self._root_id or not self._lock.held():
                self._relock()

    def _relock(self) -> None:
        try:
            private_dirs(self.root)
            self._lock.release()
            self._lock = DirLock(self.root)
        except (OSError, SpoolLockedError) as exc:
            if not self.lost:
                log.error("spool: %s was deleted and cannot be taken again: %s; dropping batches until it can",
                          self.root, exc)
            self.lost = True
            return
        self.lost = False
        self._root_id = identity(self.root)
        log.error("spool: %s was deleted while the agent ran; recreated it and took its lock again", self.root)

    def release(self) -> None:
        self._lock.release()
