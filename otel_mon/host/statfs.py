"""statvfs with a deadline, so one hung mount (NFS, FUSE) never blocks the rest.

One daemon worker stats a batch of paths in turn and reports each result as it lands. When a path makes no
progress within the timeout, it is declared stuck, its worker is abandoned (it stays blocked in the kernel),
and a fresh worker takes the rest of the batch. A stuck path is skipped until its abandoned worker returns.
Cost in the normal case: one thread hand-off per collection, not one per mount.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Sequence
from functools import partial

StatFn = Callable[[str], os.statvfs_result]


class _Batch:
    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = list(paths)
        self.results: dict[str, os.statvfs_result | OSError] = {}
        self.next = 0  # index of the path being stated
        self.cond = threading.Condition()


def _moved(batch: _Batch, index: int) -> bool:
    return batch.next != index


class StatPool:
    def __init__(self, timeout: float, stat: StatFn = os.statvfs) -> None:
        self.timeout = timeout
        self._stat = stat
        self._stuck: set[str] = set()
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[tuple[_Batch, int] | None] | None = None

    @property
    def stuck(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._stuck)

    def _worker(self, jobs: queue.SimpleQueue[tuple[_Batch, int] | None]) -> None:
        while True:
            job = jobs.get()
            if job is None:
                return
            batch, start = job
            for i in range(start, len(batch.paths)):
                path = batch.paths[i]
                with batch.cond:
                    batch.next = i
                try:
                    result: os.statvfs_result | OSError = self._stat(path)
                except OSError as exc:
                    result = exc
                with batch.cond:
                    abandoned = batch.next != i
                    if not abandoned:
                        batch.results[path] = result
                        batch.next = i + 1
                    batch.cond.notify_all()
                if abandoned:  # the caller gave up on us while we were blocked: free the mount and retire
                    with self._lock:
                        self._stuck.discard(path)
                    return

    def _start_worker(self) -> queue.SimpleQueue[tuple[_Batch, int] | None]:
        jobs: queue.SimpleQueue[tuple[_Batch, int] | None] = queue.SimpleQueue()
        threading.Thread(target=self._worker, args=(jobs,), name="otel-mon-statfs", daemon=True).start()
        return jobs

    def stat_all(self, paths: Sequence[str]) -> tuple[dict[str, os.statvfs_result | OSError], list[str]]:
        """Results per path, and the paths skipped or timed out (stuck)."""
        with self._lock:
            todo = [p for p in paths if p not in self._stuck]
            skipped = [p for p in paths if p in self._stuck]
        if not todo:
            return {}, skipped
        batch = _Batch(todo)
        if self._jobs is None:
            self._jobs = self._start_worker()
        self._jobs.put((batch, 0))
        with batch.cond:
            while batch.next < len(todo):
                current = batch.next
                if batch.cond.wait_for(partial(_moved, batch, current), timeout=self.timeout):
                    continue
                path = todo[current]
                with self._lock:
                    self._stuck.add(path)
                skipped.append(path)
                batch.next = current + 1  # tells the blocked worker it was abandoned
                if batch.next < len(todo):
                    self._jobs = self._start_worker()
                    self._jobs.put((batch, batch.next))
                else:
                    self._jobs = None
            return dict(batch.results), skipped

    def close(self) -> None:
        if self._jobs is not None:
            self._jobs.put(None)
            self._jobs = None
