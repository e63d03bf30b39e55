"""Synthetic hosts: fixture trees (proc/, sys/, etc/, mountpoints) of any size, read through root_path.

``generate(root, Size(cpus=64, disks=128, nics=256, mounts=200))`` writes a tree that the agent reads with
``--root-path root`` (psutil through ``PROCFS_PATH``, the mount table from ``proc/1/mounts``, statvfs under the
root) and node_exporter with ``--path.procfs root/proc --path.sysfs root/sys --path.rootfs root``. Values are
plausible and distinct per device, so no series collapses into another. ``python benchmarks/synthhost.py DIR
CPUS DISKS NICS MOUNTS`` writes one tree by hand.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Size:
    cpus: int
    disks: int
    nics: int
    mounts: int

    @property
    def label(self) -> str:
        return f"{self.cpus} CPUs, {self.disks} disks, {self.nics} NICs, {self.mounts} mounts"


# The scaling curve's hosts: from a small VM to a large storage/network box.
SIZES = (Size(2, 4, 4, 5), Size(16, 32, 64, 50), Size(64, 128, 256, 200), Size(256, 128, 256, 200))

_MEMINFO = """MemTotal:       16000000 kB
MemFree:         4000000 kB
MemAvailable:   10000000 kB
Buffers:          200000 kB
Cached:          5000000 kB
SwapCached:            0 kB
Active:          6000000 kB
Inactive:        3000000 kB
Active(anon):    3000000 kB
Inactive(anon):   500000 kB
Active(file):    3000000 kB
Inactive(file):  2500000 kB
Unevictable:           0 kB
Mlocked:               0 kB
SwapTotal:       2000000 kB
SwapFree:        1900000 kB
Dirty:              1000 kB
Writeback:             0 kB
AnonPages:       3500000 kB
Mapped:           400000 kB
Shmem:            100000 kB
KReclaimable:     300000 kB
Slab:             500000 kB
SReclaimable:     300000 kB
SUnreclaim:       200000 kB
KernelStack:       20000 kB
PageTables:        40000 kB
CommitLimit:    10000000 kB
Committed_AS:    8000000 kB
VmallocTotal:   34359738367 kB
VmallocUsed:       50000 kB
HugePages_Total:       0
HugePages_Free:        0
Hugepagesize:       2048 kB
"""

_VMSTAT = """nr_free_pages 1000000
pgpgin 5000000
pgpgout 7000000
pswpin 100
pswpout 200
pgfault 90000000
pgmajfault 12000
oom_kill 0
"""


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def disk_name(i: int) -> str:
    return f"nvme{i}n1"


def generate(root: Path, size: Size) -> Path:
    """Write the tree for ``size`` under ``root`` (created); returns ``root``."""
    proc, sys_ = root / "proc", root / "sys"
    cpu_lines = []
    total = [0] * 10
    for i in range(size.cpus):
        fields = [100_000 + 37 * i, 200 + i, 30_000 + 11 * i, 900_000 + 53 * i, 1_000 + i, 100, 50 + i, 0, 0, 0]
        total = [a + b for a, b in zip(total, fields, strict=True)]
        cpu_lines.append(f"cpu{i} " + " ".join(map(str, fields)))
    _write(proc / "stat", "cpu  " + " ".join(map(str, total)) + "\n" + "\n".join(cpu_lines) + "\n"
           "intr 123456789 0 0\nctxt 987654321\nbtime 1700000000\nprocesses 54321\nprocs_running 3\n"
           "procs_blocked 1\nsoftirq 1000 0 0 0 0 0 0 0 0 0 0\n")
    _write(proc / "cpuinfo", "".join(
        f"processor\t: {i}\nvendor_id\t: GenuineIntel\nmodel name\t: Synthetic CPU\ncpu MHz\t\t: {2000 + i}.000\n"
        f"physical id\t: {i // 32}\ncore id\t\t: {i % 32}\n\n" for i in range(size.cpus)))
    _write(proc / "meminfo", _MEMINFO)
    _write(proc / "vmstat", _VMSTAT)
    _write(proc / "loadavg", "0.52 0.58 0.59 2/345 12345\n")
    _write(proc / "uptime", "350735.47 234388.90\n")
    _write(proc / "sys" / "kernel" / "osrelease", "6.1.0-synthetic\n")
    _write(proc / "sys" / "fs" / "file-nr", "3072\t0\t100000\n")
    _write(proc / "swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
           "/dev/nvme0n1p9                          partition\t2000000\t\t100000\t\t-2\n")
    for resource in ("cpu", "io", "memory"):
        _write(proc / "pressure" / resource, "some avg10=1.50 avg60=2.25 avg300=0.75 total=12345678\n"
               "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    for pid in range(1, 41):  # a quiet host's processes (their states are counted)
        _write(proc / str(pid) / "stat", f"{pid} (proc{pid}) {'RSSSSSSSSI'[pid % 10]} 1 {pid} {pid} 0 -1 0 0 0 0 0 0 0 "
               "0 0 20 0 1 0 100 0 0\n")
    _write(proc / "diskstats", "".join(
        f" 259 {i} {disk_name(i)} {1000 + i} {10 + i} {80_000 + i} {3000 + i} {2000 + i} {20 + i} {160_000 + i} "
        f"{5000 + i} 0 {7000 + i} {8000 + i} 0 0 0 0 0 0\n" for i in range(size.disks)))
    _write(proc / "net" / "dev", "Inter-|   Receive                                                |  Transmit\n"
           " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls "
           "carrier compressed\n" + "".join(
               f"  eth{i}: {500_000 + i} {4000 + i} {i % 3} {i % 5} 0 0 0 0 {250_000 + i} {3000 + i} {i % 2} "
               f"{i % 7} 0 0 0 0\n" for i in range(size.nics)))
    mounts = ["/dev/nvme0n1 / ext4 rw,relatime 0 0", "proc /proc proc rw,nosuid 0 0", "tmpfs /run tmpfs rw 0 0"]
    for i in range(size.mounts - 1):
        mountpoint = root / "mnt" / f"m{i}"
        mountpoint.mkdir(parents=True, exist_ok=True)
        mounts.append(f"/dev/{disk_name(i % size.disks)} /mnt/m{i} {'ext4' if i % 2 else 'xfs'} rw,relatime 0 0")
    for pid in ("1", "self"):
        _write(proc / pid / "mounts", "\n".join(mounts) + "\n")
    for i in range(size.cpus):
        base = sys_ / "devices" / "system" / "cpu" / f"cpu{i}"
        _write(base / "topology" / "core_id", f"{i % 32}\n")
        _write(base / "topology" / "physical_package_id", f"{i // 32}\n")
        _write(base / "online", "1\n")
    _write(sys_ / "devices" / "system" / "cpu" / "online", f"0-{size.cpus - 1}\n")
    for i in range(size.disks):
        _write(sys_ / "block" / disk_name(i) / "queue" / "hw_sector_size", "512\n")
    for i in range(size.nics):
        _write(sys_ / "class" / "net" / f"eth{i}" / "operstate", "up\n")
    _write(root / "etc" / "hostname", f"synth-{size.cpus}\n")
    _write(root / "etc" / "machine-id", "0123456789abcdef0123456789abcdef\n")
    _write(root / "etc" / "os-release", 'ID=debian\nVERSION_ID="13"\nPRETTY_NAME="Synthetic"\n')
    return root


def main(argv: list[str]) -> int:
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    root = generate(Path(argv[0]), Size(*(int(a) for a in argv[1:])))
    print(root)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
