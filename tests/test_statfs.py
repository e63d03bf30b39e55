"""A hung mount is skipped after its timeout and never blocks the other mounts.

The kernel call is the seam: a statvfs that blocks on an Event stands in for an NFS server gone away (this
machine cannot mount one), while every other path is a real os.statvfs.
"""

from __future__ import annotations

import os
import threading
import time

from otel_mon.host.statfs import StatPool


def test_hung_mount_skipped_others_reported_then_recovers(tmp_path: os.PathLike[str]) -> None:
    release = threading.Event()
    entered = threading.Event()
    hung = "/hung/nfs"

    def stat(path: str) -> os.statvfs_result:
        if path == hung:
            entered.set()
            release.wait(30)
            return os.statvfs("/")
        return os.statvfs(path)

    pool = StatPool(timeout=0.2, stat=stat)
    paths = [str(tmp_path), hung, "/"]
    started = time.monotonic()
    results, stuck = pool.stat_all(paths)
    elapsed = time.monotonic() - started
    assert stuck == [hung]
    assert set(results) == {str(tmp_path), "/"}  # the mount after the hung one was still stated
    assert elapsed < 5
    assert pool.stuck == {hung}

    # While it hangs it is skipped at once, without another blocked thread.
    threads_before = threading.active_count()
    results, stuck = pool.stat_all(paths)
    assert stuck == [hung] and set(results) == {str(tmp_path), "/"}
    assert threading.active_count() <= threads_before

    release.set()  # the server answers again: the abandoned worker frees the mount
    deadline = time.monotonic() + 10
    while pool.stuck and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not pool.stuck
    results, stuck = pool.stat_all(paths)
    assert stuck == [] and set(results) == set(paths)
    pool.close()


def test_errors_are_returned_per_path(tmp_path: os.PathLike[str]) -> None:
    pool = StatPool(timeout=1.0)
    results, stuck = pool.stat_all([str(tmp_path), "/does/not/exist"])
    assert stuck == []
    assert isinstance(results["/does/not/exist"], FileNotFoundError)
    assert isinstance(results[str(tmp_path)], os.statvfs_result)
    pool.close()
