"""``/metrics/node_exporter``: the snapshot ``/metrics`` was collected from, in node_exporter's names and labels.

No host read of its own: every value is a point of the snapshot or a source a domain already read and kept
(``Snapshot.native``: /proc/meminfo, /proc/stat, /proc/vmstat, per-CPU times). The body is rendered once per
snapshot, at the first scrape after a collection, and kept for every later scrape of that interval (as
``/metrics`` is). Families and their sources are the table in ``compat/families.py``.
"""

from __future__ import annotations

import gzip
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from otel_mon.compat.families import BY_NAME, COLLECTOR_DOMAINS, Family
from otel_mon.exposition_text import go_float
from otel_mon.host.paths import HostPaths
from otel_mon.host.procfs import parse_os_release
from otel_mon.host.sampler import Snapshot
from otel_mon.http.render import Response, gzip_allowed

Sample = tuple[str, tuple[tuple[str, str], ...], float]  # family name, labels in order, value
_Labels = tuple[tuple[str, str], ...]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_PARENS = re.compile(r"\((.*)\)")
_NOT_NAME = re.compile(r"[^a-zA-Z0-9_]")
_NO_STORE = ("Cache-Control", "no-store")


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _points(snap: Snapshot, name: str) -> Iterable[tuple[float, Mapping[str, Any]]]:
    return snap.points.get(name, ())


def _one(snap: Snapshot, name: str) -> float | None:
    pts = snap.points.get(name)
    return float(pts[0][0]) if pts else None


# --- one function per node_exporter collector: snapshot -> samples --------------------------------------------

def _cpu(snap: Snapshot) -> Iterator[Sample]:
    times = snap.native.get("cpu.times")
    if not isinstance(times, list):
        return
    for i, t in enumerate(times):
        cpu = str(i)
        for mode in ("idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"):
            yield "node_cpu_seconds_total", (("cpu", cpu), ("mode", mode)), float(getattr(t, mode, 0.0))
        yield "node_cpu_guest_seconds_total", (("cpu", cpu), ("mode", "nice")), float(getattr(t, "guest_nice", 0.0))
        yield "node_cpu_guest_seconds_total", (("cpu", cpu), ("mode", "user")), float(getattr(t, "guest", 0.0))


def _cpufreq(snap: Snapshot) -> Iterator[Sample]:
    for value, attrs in _points(snap, "system.cpu.frequency"):
        yield "node_cpu_scaling_frequency_hertz", (("cpu", str(attrs["cpu.logical_number"])),), float(value)


_DISK_BY_DIRECTION = {
    ("system.disk.operations", "read"): "node_disk_reads_completed_total",
    ("system.disk.operations", "write"): "node_disk_writes_completed_total",
    ("system.disk.merged", "read"): "node_disk_reads_merged_total",
    ("system.disk.merged", "write"): "node_disk_writes_merged_total",
    ("system.disk.io", "read"): "node_disk_read_bytes_total",
    ("system.disk.io", "write"): "node_disk_written_bytes_total",
    ("system.disk.operation_time", "read"): "node_disk_read_time_seconds_total",
    ("system.disk.operation_time", "write"): "node_disk_write_time_seconds_total",
}
_DISK_PLAIN = {
    "system.disk.pending_operations": "node_disk_io_now",
    "system.disk.io_time": "node_disk_io_time_seconds_total",
    "system.disk.weighted_io_time": "node_disk_io_time_weighted_seconds_total",
}


def _diskstats(snap: Snapshot) -> Iterator[Sample]:
    for (metric, direction), family in _DISK_BY_DIRECTION.items():
        for value, attrs in _points(snap, metric):
            if attrs.get("disk.io.direction") == direction:
                yield family, (("device", str(attrs["system.device"])),), float(value)
    for metric, family in _DISK_PLAIN.items():
        for value, attrs in _points(snap, metric):
            yield family, (("device", str(attrs["system.device"])),), float(value)


def _fs_labels(attrs: Mapping[str, Any]) -> _Labels:
    return (("device", str(attrs["system.device"])), ("device_error", ""),
            ("fstype", str(attrs["system.filesystem.type"])),
            ("mountpoint", str(attrs["system.filesystem.mountpoint"])))


def _filesystem(snap: Snapshot) -> Iterator[Sample]:
    usage: dict[_Labels, dict[str, float]] = {}
    for value, attrs in _points(snap, "system.filesystem.usage"):
        usage.setdefault(_fs_labels(attrs), {})[str(attrs["system.filesystem.state"])] = float(value)
    inodes: dict[_Labels, dict[str, float]] = {}
    for value, attrs in _points(snap, "system.filesystem.inodes.usage"):
        inodes.setdefault(_fs_labels(attrs), {})[str(attrs["system.filesystem.state"])] = float(value)
    for value, attrs in _points(snap, "system.filesystem.limit"):
        labels = _fs_labels(attrs)
        states = usage.get(labels, {})
        files = inodes.get(labels, {})
        yield "node_filesystem_size_bytes", labels, float(value)
        yield "node_filesystem_free_bytes", labels, states.get("free", 0.0) + states.get("reserved", 0.0)
        yield "node_filesystem_avail_bytes", labels, states.get("free", 0.0)
        yield "node_filesystem_files", labels, files.get("used", 0.0) + files.get("free", 0.0)
        yield "node_filesystem_files_free", labels, files.get("free", 0.0)
        yield "node_filesystem_readonly", labels, 1.0 if attrs.get("system.filesystem.mode") == "ro" else 0.0
        yield "node_filesystem_device_error", labels, 0.0


def _loadavg(snap: Snapshot) -> Iterator[Sample]:
    for window in ("1", "5", "15"):
        value = _one(snap, f"system.cpu.load_average.{window}m")
        if value is not None:
            yield f"node_load{window}", (), value


# The /proc/meminfo fields node_exporter 1.12.1 exports (its procfs Meminfo struct); newer kernel fields
# (KReclaimable, Hugetlb, FileHugePages, ...) it leaves out, and so does this view.
_MEMINFO_TEXT = (
    "MemTotal MemFree MemAvailable Buffers Cached SwapCached Active Inactive Active(anon) Inactive(anon) "
    "Active(file) Inactive(file) Unevictable Mlocked SwapTotal SwapFree Dirty Writeback AnonPages Mapped Shmem "
    "Slab SReclaimable SUnreclaim KernelStack PageTables NFS_Unstable Bounce WritebackTmp CommitLimit "
    "Committed_AS VmallocTotal VmallocUsed VmallocChunk Percpu HardwareCorrupted AnonHugePages ShmemHugePages "
    "ShmemPmdMapped CmaTotal CmaFree HugePages_Total HugePages_Free HugePages_Rsvd HugePages_Surp Hugepagesize "
    "DirectMap4k DirectMap2M DirectMap1G Zswap Zswapped")
MEMINFO_FIELDS = frozenset(_MEMINFO_TEXT.split())


def _meminfo(snap: Snapshot) -> Iterator[Sample]:
    mem = snap.native.get("meminfo")
    if not isinstance(mem, dict):
        return
    for key, value in mem.items():
        if key not in MEMINFO_FIELDS:
            continue
        field = _PARENS.sub(r"_\1", key)
        if key.startswith("HugePages_"):  # page counts, no unit in /proc/meminfo
            yield f"node_memory_{field}", (), float(value)
        else:
            yield f"node_memory_{field}_bytes", (), float(value)


_NET = {
    ("system.network.io", "receive"): "node_network_receive_bytes_total",
    ("system.network.io", "transmit"): "node_network_transmit_bytes_total",
    ("system.network.errors", "receive"): "node_network_receive_errs_total",
    ("system.network.errors", "transmit"): "node_network_transmit_errs_total",
    ("system.network.packet.dropped", "receive"): "node_network_receive_drop_total",
    ("system.network.packet.dropped", "transmit"): "node_network_transmit_drop_total",
}


def _netdev(snap: Snapshot) -> Iterator[Sample]:
    for (metric, direction), family in _NET.items():
        for value, attrs in _points(snap, metric):
            if attrs.get("network.io.direction") == direction:
                yield family, (("device", str(attrs["network.interface.name"])),), float(value)
    for value, attrs in _points(snap, "system.network.packet.count"):
        family = f"node_network_{attrs.get('network.io.direction')}_packets_total"
        yield family, (("device", str(attrs["system.device"])),), float(value)


_STAT = (("btime", "node_boot_time_seconds"), ("ctxt", "node_context_switches_total"),
         ("processes", "node_forks_total"), ("intr", "node_intr_total"),
         ("procs_running", "node_procs_running"), ("procs_blocked", "node_procs_blocked"))


def _stat(snap: Snapshot) -> Iterator[Sample]:
    stat = snap.native.get("stat")
    if not isinstance(stat, dict):
        return
    for key, family in _STAT:
        if key in stat:
            yield family, (), float(stat[key])


def _time(snap: Snapshot) -> Iterator[Sample]:
    yield "node_time_seconds", (), snap.time
    local = time.localtime(snap.time)
    yield "node_time_zone_offset_seconds", (("time_zone", local.tm_zone or ""),), float(local.tm_gmtoff or 0)


_VMSTAT = ("oom_kill", "pgfault", "pgmajfault", "pgpgin", "pgpgout", "pswpin", "pswpout")


def _vmstat(snap: Snapshot) -> Iterator[Sample]:
    vm = snap.native.get("vmstat")
    if not isinstance(vm, dict):
        return
    for key in _VMSTAT:
        if key in vm:
            yield f"node_vmstat_{key}", (), float(vm[key])


_PRESSURE = {("cpu", "some"): "node_pressure_cpu_waiting_seconds_total",
             ("io", "some"): "node_pressure_io_waiting_seconds_total",
             ("io", "full"): "node_pressure_io_stalled_seconds_total",
             ("memory", "some"): "node_pressure_memory_waiting_seconds_total",
             ("memory", "full"): "node_pressure_memory_stalled_seconds_total"}


def _pressure(snap: Snapshot) -> Iterator[Sample]:
    for value, attrs in _points(snap, "otel_mon.host.pressure.stall_time"):
        family = _PRESSURE.get((str(attrs.get("otel_mon.pressure.resource")),
                                str(attrs.get("otel_mon.pressure.stall_type"))))
        if family is not None:
            yield family, (), float(value)


def _plain(pairs: tuple[tuple[str, str], ...]) -> Callable[[Snapshot], Iterator[Sample]]:
    """A collector whose families are attribute-less points, one to one."""

    def render(snap: Snapshot) -> Iterator[Sample]:
        for metric, family in pairs:
            value = _one(snap, metric)
            if value is not None:
                yield family, (), value

    return render


_filefd = _plain((("otel_mon.host.file_descriptor.count", "node_filefd_allocated"),
                  ("otel_mon.host.file_descriptor.limit", "node_filefd_maximum")))
_conntrack = _plain((("otel_mon.host.conntrack.count", "node_nf_conntrack_entries"),
                     ("otel_mon.host.conntrack.limit", "node_nf_conntrack_entries_limit")))
_timex = _plain((("otel_mon.host.clock.offset", "node_timex_offset_seconds"),
                 ("otel_mon.host.clock.max_error", "node_timex_maxerror_seconds"),
                 ("otel_mon.host.clock.synchronized", "node_timex_sync_status")))


def uname_labels(domainname: str) -> _Labels:
    """node_uname_info's labels: uname(2) (os.uname lacks the NIS domain name: the caller reads it)."""
    u = os.uname()
    return (("domainname", domainname or "(none)"), ("machine", u.machine), ("nodename", u.nodename),
            ("release", u.release), ("sysname", u.sysname), ("version", u.version))


_OS_KEYS = ("build_id", "id", "id_like", "image_id", "image_version", "name", "pretty_name", "variant",
            "variant_id", "version", "version_codename", "version_id")


def os_samples(release: Mapping[str, str]) -> list[Sample]:
    """node_os_info and node_os_version from os-release's fields (read once, at start)."""
    if not release:
        return []
    info = tuple((k, release.get(k.upper(), "")) for k in _OS_KEYS)
    out: list[Sample] = [("node_os_info", info, 1.0)]
    version = re.match(r"\d+(\.\d+)?", release.get("VERSION_ID", ""))
    if version:
        out.append(("node_os_version", (("id", release.get("ID", "")), ("id_like", release.get("ID_LIKE", "")),
                                        ("name", release.get("NAME", ""))), float(version.group(0))))
    return out


def _textfile(snap: Snapshot) -> Iterator[Sample]:
    """node_textfile_mtime_seconds per file read, node_textfile_scrape_error (1 if any file was skipped); the
    files' own families are rendered by ``textfile_text``."""
    errors = 0.0
    for value, _attrs in _points(snap, "otel_mon.textfile.error"):
        errors = max(errors, float(value))
    for value, attrs in _points(snap, "otel_mon.textfile.mtime"):
        yield "node_textfile_mtime_seconds", (("file", str(attrs["otel_mon.textfile.file"])),), float(value)
    yield "node_textfile_scrape_error", (), errors


def _systemd(snap: Snapshot) -> Iterator[Sample]:
    """node_exporter's systemd collector: unit states by name/state/type, restarts, system running."""
    units = snap.native.get("systemd")
    if units is None:
        return
    for name, state, restarts in getattr(units, "units", ()):
        kind = name.rsplit(".", 1)[-1]
        for s in ("activating", "active", "deactivating", "failed", "inactive"):
            yield ("node_systemd_unit_state", (("name", name), ("state", s), ("type", kind)),
                   1.0 if s == state else 0.0)
        if restarts is not None:
            yield "node_systemd_service_restart_total", (("name", name),), float(restarts)
    yield "node_systemd_system_running", (), 1.0 if getattr(units, "system_state", "") == "running" else 0.0


_HWMON_PLAIN = {"alarm": "node_hwmon_temp_alarm", "fault": "node_hwmon_temp_fault",
                "beep": "node_hwmon_temp_beep_enabled", "type": "node_hwmon_temp_type"}


def _go_float(text: str) -> float | None:
    """The value as Go's strconv.ParseFloat reads it (no digit separators), or None."""
    if "_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _hwmon(snap: Snapshot) -> Iterator[Sample]:
    """node_exporter's hwmon families for the temperature sensors the sensors domain read."""
    chips = snap.native.get("hwmon")
    if not isinstance(chips, list):
        return
    for chip in chips:
        if chip.chip_name is not None:
            yield "node_hwmon_chip_names", (("chip", chip.chip), ("chip_name", chip.chip_name)), 1.0
        for sensor, props in chip.sensors.items():
            labels = (("chip", chip.chip), ("sensor", sensor))
            if "label" in props:
                yield "node_hwmon_sensor_label", (("chip", chip.chip), ("label", props["label"]),
                                                  ("sensor", sensor)), 1.0
            for element, text in props.items():
                value = _go_float(text) if element != "label" else None
                if value is None:
                    continue
                if element in _HWMON_PLAIN:
                    yield _HWMON_PLAIN[element], labels, value
                elif element == "" or (element == "input" and "" not in props):
                    yield "node_hwmon_temp_celsius", labels, value * 0.001
                else:
                    yield f"node_hwmon_temp_{_clean(element)}_celsius", labels, value * 0.001


def _clean(text: str) -> str:
    return re.sub(r"[^a-z0-9:_]", "_", text.lower()).strip("_")


def textfile_text(snap: Snapshot, taken: set[str]) -> str:
    """The textfiles' families as they were written (types, help, histograms and summaries too), except a name
    the endpoint already serves or an earlier file declared (node_exporter fails such a scrape; this skips)."""
    families = snap.native.get("textfile")
    if not isinstance(families, list):
        return ""
    lines: list[str] = []
    for family in families:
        if family.name in taken or any(s[0] in taken for s in family.samples):
            continue
        taken.add(family.name)
        taken.update(s[0] for s in family.samples)
        lines.append(f"# HELP {family.name} {family.help}\n# TYPE {family.name} {family.kind}\n")
        for sample, labels, value in family.samples:
            text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
            lines.append(f"{sample}{{{text}}} {go_float(value)}\n" if text else f"{sample} {go_float(value)}\n")
    return "".join(lines)


COLLECTORS: dict[str, Callable[[Snapshot], Iterator[Sample]]] = {
    "cpu": _cpu, "cpufreq": _cpufreq, "diskstats": _diskstats, "filesystem": _filesystem, "loadavg": _loadavg,
    "meminfo": _meminfo, "netdev": _netdev, "stat": _stat, "time": _time, "vmstat": _vmstat,
    "pressure": _pressure, "filefd": _filefd, "conntrack": _conntrack, "timex": _timex, "textfile": _textfile,
    "systemd": _systemd, "hwmon": _hwmon,
}


# Collectors node_exporter reports as failed when the host has no such source: the native key that is None then.
_NO_DATA = {"hwmon": "hwmon"}


def family_of(name: str) -> Family | None:
    """The table row a rendered family name belongs to (pattern rows cover node_memory_* and node_vmstat_*)."""
    row = BY_NAME.get(name)
    if row is not None:
        return row
    if name.startswith("node_vmstat_"):
        return BY_NAME["node_vmstat_<field>"]
    if name.startswith("node_memory_"):
        return BY_NAME["node_memory_<field>_bytes" if name.endswith("_bytes") else "node_memory_<field>"]
    if name.startswith("node_hwmon_temp_") and name.endswith("_celsius"):
        return BY_NAME["node_hwmon_temp_<field>_celsius"]
    return None


def _field(name: str) -> str:
    """What ``<field>`` stands for in a pattern row's family name (its help text names it)."""
    if name.startswith("node_hwmon_temp_"):
        return name.removeprefix("node_hwmon_temp_").removesuffix("_celsius")
    return name.removeprefix("node_memory_").removeprefix("node_vmstat_").removesuffix("_bytes")


def samples(snap: Snapshot, fixed: Iterable[tuple[str, Iterable[Sample]]] = ()) -> list[Sample]:
    """Every sample for ``snap``: the collectors whose domain ran, ``fixed`` ones (uname, os) and
    node_scrape_collector_* for each collector served."""
    out: list[Sample] = []
    served: list[tuple[str, float, bool]] = []
    for collector, render in COLLECTORS.items():
        domain = COLLECTOR_DOMAINS.get(collector)
        status = snap.domains.get(domain) if domain is not None else None
        if domain is not None and status is None:
            continue  # the domain is off: node_exporter's --no-collector.<name>
        got = list(render(snap))
        out.extend(got)
        ok = status.ok if status is not None else True
        if collector in _NO_DATA and snap.native.get(_NO_DATA[collector]) is None:
            ok = False  # node_exporter's ErrNoData: the host has no such source (no /sys/class/hwmon)
        served.append((collector, status.duration if status is not None else 0.0, ok))
    for collector, extra in fixed:
        out.extend(extra)
        served.append((collector, 0.0, True))
    for collector, duration, ok in served:
        labels = (("collector", collector),)
        out.append(("node_scrape_collector_duration_seconds", labels, duration))
        out.append(("node_scrape_collector_success", labels, 1.0 if ok else 0.0))
    return out


def render_text(items: list[Sample]) -> str:
    """Prometheus text 0.0.4, families sorted by name and series by labels (as node_exporter writes them)."""
    by_family: dict[str, list[tuple[_Labels, float]]] = {}
    for name, labels, value in items:
        by_family.setdefault(name, []).append((labels, value))
    lines: list[str] = []
    for name in sorted(by_family):
        row = family_of(name)
        if row is None:
            raise KeyError(f"{name} is not in compat/families.py")
        field = _field(name)
        lines.append(f"# HELP {name} {row.help.replace('<field>', field)}\n# TYPE {name} {row.kind}\n")
        for labels, value in sorted(by_family[name]):
            text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
            lines.append(f"{name}{{{text}}} {go_float(value)}\n" if text
                         else f"{name} {go_float(value)}\n")
    return "".join(lines)


def read_release(paths: HostPaths) -> dict[str, str]:
    """os-release under root_path (as ``resource`` reads it for os.*); empty when there is none."""
    for path in (paths.etc("os-release"), paths.rootfs("/usr/lib/os-release")):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return parse_os_release(f.read())
        except OSError:
            continue
    return {}


def read_domainname(paths: HostPaths) -> str:
    try:
        with open(paths.proc("sys", "kernel", "domainname"), encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return ""


class NodeExporterView:
    """The endpoint: renders the newest snapshot once, then answers every scrape of the interval from the cache.

    uname and os-release are read once here (node_exporter reads them per scrape; they change with a reboot or
    an upgrade, which restarts the agent too).
    """

    def __init__(self, snapshot: Callable[[], Snapshot | None], paths: HostPaths,
                 extra: Callable[[Snapshot], Iterable[Sample]] | None = None) -> None:
        self._snapshot = snapshot
        self._fixed = (("uname", [("node_uname_info", uname_labels(read_domainname(paths)), 1.0)]),
                       ("os", os_samples(read_release(paths))))
        self._extra = extra
        self._lock = threading.Lock()
        self._at: object = None
        self._raw = b""
        self._bodies: dict[bool, Response] = {}
        self.renders = 0  # bodies rendered (tests: one per collection however many scrapes)

    def body(self, snap: Snapshot) -> bytes:
        items = samples(snap, self._fixed)
        if self._extra is not None:
            items.extend(self._extra(snap))
        text = render_text(items)
        return (text + textfile_text(snap, {name for name, _, _ in items})).encode()

    def render(self, accept: str | None, accept_encoding: str | None) -> Response:
        snap = self._snapshot()
        zipped = gzip_allowed(accept_encoding)
        with self._lock:
            if snap is not self._at:
                self._at, self._bodies = snap, {}
                self._raw = self.body(snap) if snap is not None else b""
                self.renders += snap is not None
            cached = self._bodies.get(zipped)
            if cached is None:
                body = self._raw
                headers: list[tuple[str, str]] = [("Content-Type", CONTENT_TYPE), ("Vary", "Accept-Encoding"),
                                                  _NO_STORE]
                if zipped:
                    body = gzip.compress(body, compresslevel=1)
                    headers.append(("Content-Encoding", "gzip"))
                cached = self._bodies[zipped] = Response(200, tuple(headers), body)
            return cached
