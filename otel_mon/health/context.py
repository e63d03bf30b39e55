"""What a rising rule's notification says about why: the busiest processes, or the filesystem's figures.

Measured when a CPU, load or memory rule enters warning or critical, on the context thread (never on the
collection thread): the top processes by CPU over a short window (two reads of every process's CPU time,
like ``top``), or by resident memory; for a filesystem rule the mount's size, free space and inodes.
Two passes over ``/proc`` read one small file per process each; names and users are read for the winners
only. The cost on a host with 1,000 processes is in the README.
"""

from __future__ import annotations

import heapq
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import psutil

from otel_mon.health.config import TopProcessesConfig
from otel_mon.health.reading_specs import READINGS
from otel_mon.health.rules import Transition
from otel_mon.timefmt import iso

log = logging.getLogger("otel_mon.health")


def context_kind(reading: str) -> str:
    """What a reading's rise is explained with, as its declaration says (``ReadingSpec.context``)."""
    spec = READINGS.get(reading)
    return spec.context if spec is not None else ""

Context = dict[str, Any]
Announce = Callable[[list[Transition], Any, float], None]


def top_by_cpu(count: int, window: float, sleep: Callable[[float], None] = time.sleep) -> list[dict[str, Any]]:
    """The ``count`` processes that used the most CPU during ``window`` seconds, in percent of one CPU."""
    first: dict[int, tuple[psutil.Process, float]] = {}
    for proc in psutil.process_iter():
        try:
            t = proc.cpu_times()
        except (psutil.Error, OSError):
            continue
        first[proc.pid] = (proc, t.user + t.system)
    started = time.monotonic()
    sleep(window)
    elapsed = max(time.monotonic() - started, 1e-6)
    used: list[tuple[float, int]] = []
    for pid, (proc, before) in first.items():
        try:
            t = proc.cpu_times()
        except (psutil.Error, OSError):
            continue
        used.append((t.user + t.system - before, pid))
    # Processes that used no CPU in the window (0.0 % once rounded) are no suspects: the list may be shorter.
    best = [(d, pid) for d, pid in heapq.nlargest(count, used) if 100.0 * d / elapsed >= 0.05]
    rows = []
    for delta, pid in best:
        proc = first[pid][0]
        raw = 100.0 * delta / elapsed
        try:
            cores = min(proc.num_threads(), len(proc.cpu_affinity() or ()) or proc.num_threads())
        except (psutil.Error, OSError):
            cores = 0  # gone since: its figure stands as measured
        # Percent of one CPU, as top shows it: 200 % is two cores busy. A process cannot use more than one
        # CPU per thread nor more than the CPUs it may run on; the two reads are not at one instant, so the raw
        # figure can overshoot (102 % for one thread): it is capped there.
        rows.append((proc, round(min(raw, 100.0 * cores) if cores else raw, 1)))
    return _describe(rows, "cpu_percent")


def top_by_rss(count: int) -> list[dict[str, Any]]:
    """The ``count`` processes with the most resident memory, in bytes."""
    sizes: list[tuple[int, int, psutil.Process]] = []
    for proc in psutil.process_iter():
        try:
            sizes.append((proc.memory_info().rss, proc.pid, proc))
        except (psutil.Error, OSError):
            continue
    best = heapq.nlargest(count, sizes, key=lambda s: (s[0], s[1]))
    return _describe([(proc, rss) for rss, _, proc in best], "rss_bytes")


def _describe(rows: Sequence[tuple[psutil.Process, float]], unit: str) -> list[dict[str, Any]]:
    out = []
    for proc, value in rows:
        try:
            name = proc.name()
        except (psutil.Error, OSError):
            name = "?"  # gone since, or hidden (hidepid)
        try:
            user = proc.username()
        except (psutil.Error, OSError, KeyError):
            try:
                user = str(proc.uids().real)
            except (psutil.Error, OSError):
                user = "?"
        out.append({"pid": proc.pid, "name": name, "user": user, unit: value})
    return out


def filesystem_figures(path: str) -> dict[str, Any]:
    """Size, free (for unprivileged users, as ``df`` shows it) and inodes of the filesystem at ``path``."""
    st = os.statvfs(path)
    return {"size_bytes": st.f_blocks * st.f_frsize, "free_bytes": st.f_bavail * st.f_frsize,
            "inodes_total": st.f_files, "inodes_free": st.f_favail}


def describe(context: Mapping[str, Any]) -> str:
    """One line for people: ``top by CPU: 1234 stress (root) 98.5 %, ...`` or the filesystem's figures."""
    if "processes" in context:
        cpu = context["by"] == "cpu"
        items = [f"{p['pid']} {p['name']} ({p['user']}) "
                 + (f"{p['cpu_percent']:g} %" if cpu else _mib(p["rss_bytes"])) for p in context["processes"]]
        if not items:
            return f"top by {'CPU' if cpu else 'memory'}: no process used any"
        return f"top by {'CPU (% of one core)' if cpu else 'memory'}: " + ", ".join(items)
    if "matched" in context:
        return str(context["matched"])
    if "size_bytes" in context:
        inodes = ""
        if context["inodes_total"]:
            inodes = f", inodes {context['inodes_free']:,} free of {context['inodes_total']:,}"
        return f"{_gib(context['free_bytes'])} free of {_gib(context['size_bytes'])}{inodes}"
    return ""


def _mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def _gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB"


class ContextWorker:
    """One thread that measures context for rising transitions, then hands each batch on, in order.

    ``announce`` (log, notify) receives every batch submitted, context attached where one was measured.
    """

    def __init__(self, cfg: TopProcessesConfig, announce: Announce, rootfs: Callable[[str], str] = str,
                 queue_size: int = 16, notes: Mapping[tuple[str, str], str] | None = None) -> None:
        self.cfg = cfg
        self.notes = dict(notes or {})  # (reading, instance) -> what the instance is (a group's matchers)
        self._announce = announce
        self._rootfs = rootfs
        self._queue: queue.Queue[tuple[list[Transition], Any, float] | None] = queue.Queue(queue_size)
        self._pending = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.last_cost: float = 0.0  # seconds the last measurement took (window included)

    def wants(self, t: Transition) -> bool:
        if t.new <= t.old:
            return False
        kind = context_kind(t.reading)
        if kind == "filesystem" or (t.reading, t.instance) in self.notes:
            return True
        return self.cfg.enabled and kind in ("cpu", "memory")

    def busy(self) -> bool:
        """A batch is waiting or being measured: later batches queue behind it so order is kept."""
        with self._lock:
            return self._pending > 0

    def submit(self, transitions: list[Transition], status: Any, now: float) -> bool:
        """Queue a batch; False when the queue is full (the caller announces it without context)."""
        with self._lock:
            try:
                self._queue.put_nowait((transitions, status, now))
            except queue.Full:
                return False
            self._pending += 1
            return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="otel-mon-health-context", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        if self._thread is None:
            return
        try:
            self._queue.put(None, timeout=max(timeout, 0.001))
        except queue.Full:
            pass
        self._thread.join(timeout)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            transitions, status, now = item
            try:
                transitions = self.attach(transitions)
            except Exception:  # context is a courtesy: never lose the notification over it
                log.exception("measuring health context failed")
            try:
                self._announce(transitions, status, now)
            except Exception:
                log.exception("announcing health transitions failed")
            finally:
                with self._lock:
                    self._pending -= 1

    def attach(self, transitions: list[Transition]) -> list[Transition]:
        """The batch with context on each rising transition that wants one (one measurement per kind)."""
        started = time.monotonic()
        cache: dict[str, Context] = {}
        out = []
        for t in transitions:
            if not self.wants(t):
                out.append(t)
                continue
            context = self._measure(t, cache)
            # When it was measured: the page keeps showing it while the rule stays raised, after the culprit
            # may have exited.
            out.append(replace(t, context={**context, "measured_at": iso(time.time())}) if context else t)
        if cache:
            self.last_cost = time.monotonic() - started
        return out

    def _measure(self, t: Transition, cache: dict[str, Context]) -> Context | None:
        note = self.notes.get((t.reading, t.instance))
        if note is not None:
            return {"matched": note}
        by = context_kind(t.reading)
        if by == "filesystem":
            key = f"fs:{t.instance}"
            if key not in cache:
                try:
                    cache[key] = {"mountpoint": t.instance, **filesystem_figures(self._rootfs(t.instance))}
                except OSError as exc:
                    log.debug("statvfs %s failed: %s", t.instance, exc)
                    return None
            return cache[key]
        if by not in cache:
            processes = top_by_cpu(self.cfg.count, self.cfg.window) if by == "cpu" else top_by_rss(self.cfg.count)
            cache[by] = {"by": by, "processes": processes}
        return cache[by]
