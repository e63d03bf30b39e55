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


def test_collector_skips_a_hung_nfs_mount_and_reports_the_rest(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A fake host whose NFS mount hangs: local mounts are reported, the NFS one is skipped and counted."""
    from otel_mon import config
    from otel_mon.host.filesystem import FilesystemCollector, FilesystemConfig
    from otel_mon.host.paths import HostPaths

    (tmp_path / "proc" / "1").mkdir(parents=True)
    (tmp_path / "srv" / "nfs").mkdir(parents=True)
    (tmp_path / "proc" / "1" / "mounts").write_text(
        "/dev/sda1 / ext4 rw 0 0\nfiler:/export /srv/nfs nfs4 rw 0 0\n")
    release = threading.Event()
    nfs_path = str(tmp_path / "srv" / "nfs")

    def stat(path: str) -> os.statvfs_result:
        if path == nfs_path:
            release.wait(30)
        return os.statvfs(path)

    settings = config.load(env={}, flags={"filesystem.timeout": "200ms"})
    collector = FilesystemCollector(HostPaths(str(tmp_path)), settings.host.section(FilesystemConfig), stat)
    try:
        started = time.monotonic()
        out = collector.collect(time.time())
        assert time.monotonic() - started < 5
        assert {a["system.filesystem.mountpoint"] for _, a in out.points["system.filesystem.limit"]} == {"/"}
        assert out.errors == [("timeout", "statfs /srv/nfs timed out after 0.2s")]
        again = collector.collect(time.time())  # skipped at once while it hangs, still counted
        assert again.errors == out.errors
        release.set()
        deadline = time.monotonic() + 10
        while collector.pool.stuck and time.monotonic() < deadline:
            time.sleep(0.01)
        healed = collector.collect(time.time())
        assert healed.errors == []
        assert {a["system.filesystem.mountpoint"] for _, a in healed.points["system.filesystem.limit"]} == {
            "/", "/srv/nfs"}
    finally:
        release.set()
        collector.close()
