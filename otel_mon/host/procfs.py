"""Pure parsers for the few kernel files psutil does not cover (or does not read under a root path).

Reading is kept apart from parsing so each parser is tested on strings.
"""

from __future__ import annotations

from typing import NamedTuple


class Mount(NamedTuple):
    device: str
    mountpoint: str
    fstype: str
    options: tuple[str, ...]


def _unescape(field: str) -> str:
    # /proc/*/mounts escapes space, tab, newline and backslash as octal.
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mounts(text: str) -> list[Mount]:
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        mounts.append(Mount(_unescape(fields[0]), _unescape(fields[1]), fields[2], tuple(fields[3].split(","))))
    return mounts


def parse_loadavg(text: str) -> tuple[float, float, float]:
    fields = text.split()
    return float(fields[0]), float(fields[1]), float(fields[2])


def parse_uptime(text: str) -> float:
    return float(text.split()[0])


def parse_key_int(text: str, keys: frozenset[str]) -> dict[str, int]:
    """``key value`` lines (/proc/vmstat, the tail of /proc/stat) restricted to ``keys``.

    A substring search per wanted key instead of splitting every line: /proc/vmstat has ~180 lines and we
    want four.
    """
    out: dict[str, int] = {}
    for key in keys:
        at = text.find(key + " ")
        while at > 0 and text[at - 1] != "\n":  # a longer key ending in ours (nr_foo_pswpin): keep looking
            at = text.find(key + " ", at + 1)
        if at < 0:
            continue
        end = text.find("\n", at)
        fields = text[at + len(key) + 1 : end if end >= 0 else None].split()
        if fields and fields[0].isdigit():
            out[key] = int(fields[0])
    return out


def parse_statm(text: str, page_size: int) -> tuple[int, int]:
    """(virtual bytes, resident bytes) from /proc/self/statm."""
    fields = text.split()
    return int(fields[0]) * page_size, int(fields[1]) * page_size


def parse_status_threads(text: str) -> int:
    at = text.find("\nThreads:")
    if at < 0:
        raise ValueError("no Threads: line")
    return int(text[at + 9 : text.find("\n", at + 9)].split()[0])


def parse_os_release(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key and not key.startswith("#"):
            out[key.strip()] = value.strip().strip('"').strip("'")
    return out


def parse_swaps(text: str) -> list[tuple[str, int, int]]:
    """(device or file, size bytes, used bytes) per line of /proc/swaps (sizes there are KiB)."""
    out = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 4 and fields[2].isdigit() and fields[3].isdigit():
            out.append((_unescape(fields[0]), int(fields[2]) * 1024, int(fields[3]) * 1024))
    return out


def parse_meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo as bytes per key (``kB`` there is KiB); HugePages_* counts stay page counts."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, sep, rest = line.partition(":")
        fields = rest.split()
        if sep and fields and fields[0].isdigit():
            out[key] = int(fields[0]) * (1024 if len(fields) > 1 and fields[1] == "kB" else 1)
    return out


class DiskStats(NamedTuple):
    reads: int
    reads_merged: int
    sectors_read: int
    read_ms: int
    writes: int
    writes_merged: int
    sectors_written: int
    write_ms: int
    in_progress: int
    io_ms: int
    weighted_io_ms: int


def parse_diskstats(text: str) -> dict[str, DiskStats]:
    """The first 11 counters of each /proc/diskstats line (later kernels append discard and flush ones)."""
    out = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 14:
            try:
                out[fields[2]] = DiskStats(*(int(f) for f in fields[3:14]))
            except ValueError:
                continue
    return out


def parse_pressure(text: str) -> dict[str, tuple[float, int]]:
    """/proc/pressure/<resource>: {"some"|"full": (avg60 percent, total stall microseconds)}."""
    out = {}
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        values = dict(f.split("=", 1) for f in rest.split() if "=" in f)
        if kind in ("some", "full") and "total" in values:
            out[kind] = (float(values.get("avg60", "0")), int(values["total"]))
    return out
