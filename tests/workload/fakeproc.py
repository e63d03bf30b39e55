"""A fake host tree for the process groups: /proc/<pid>/{stat,status,io,cmdline,cgroup,exe,fd} and /etc/passwd."""

from __future__ import annotations

import os
from pathlib import Path


class FakeProc:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "proc").mkdir(parents=True, exist_ok=True)
        (root / "etc").mkdir(exist_ok=True)
        (root / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\nwww-data:x:33:33::/var/www:/bin/false\n")
        (root / "proc" / "stat").write_text("cpu 1 2 3 4\nbtime 1700000000\nprocesses 99\n")

    def add(self, pid: int, comm: str, ppid: int = 1, *, uid: int = 0, utime: int = 0, stime: int = 0,
            cutime: int = 0, cstime: int = 0, start: int = 100, rss: int = 10, threads: int = 1, fds: int = 2,
            io: tuple[int, int] = (0, 0), exe: str = "", cmdline: str = "", unit: str = "",
            state: str = "S") -> None:
        d = self.root / "proc" / str(pid)
        d.mkdir(exist_ok=True)
        (d / "stat").write_text(
            f"{pid} ({comm}) {state} {ppid} {pid} {pid} 0 -1 0 11 22 1 2 {utime} {stime} {cutime} {cstime} 20 0 "
            f"{threads} 0 {start} 4096000 {rss} 0\n")
        (d / "status").write_text(f"Name:\t{comm}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n"
                                  "voluntary_ctxt_switches:\t5\nnonvoluntary_ctxt_switches:\t1\n")
        (d / "io").write_text(f"rchar: 1\nwchar: 1\nread_bytes: {io[0]}\nwrite_bytes: {io[1]}\n")
        (d / "cmdline").write_bytes(("\0".join(cmdline.split()) + "\0").encode() if cmdline else b"")
        (d / "cgroup").write_text(f"0::/system.slice/{unit}\n" if unit else "0::/\n")
        (d / "fd").mkdir(exist_ok=True)
        for i in range(fds):
            (d / "fd" / str(i)).touch()
        if exe and not (d / "exe").is_symlink():
            (d / "exe").symlink_to(exe)
        os.chown(d, uid, uid)

    def remove(self, pid: int) -> None:
        import shutil

        shutil.rmtree(self.root / "proc" / str(pid))
