"""Where the host's files are: one object passed to every reader instead of global path state."""

from __future__ import annotations

import os
from dataclasses import dataclass

import psutil

from otel_mon.schema import invalid


@dataclass(frozen=True)
class HostPaths:
    """Translate host paths under ``root`` (``/hostfs`` when the host's root is mounted into a container)."""

    root: str = "/"

    def rootfs(self, path: str) -> str:
        """The path as this process sees it, for a path as the host sees it (mountpoints stay host paths)."""
        if self.root in ("", "/"):
            return path
        return os.path.join(self.root, path.lstrip("/"))

    def proc(self, *parts: str) -> str:
        return self.rootfs(os.path.join("/proc", *parts))

    def sys(self, *parts: str) -> str:
        return self.rootfs(os.path.join("/sys", *parts))

    def etc(self, *parts: str) -> str:
        return self.rootfs(os.path.join("/etc", *parts))

    def mounts_file(self) -> str:
        """PID 1's mount table when reading another root (a container sees the host's through it)."""
        return self.proc("self", "mounts") if self.root in ("", "/") else self.proc("1", "mounts")

    def check(self) -> str | None:
        """A one-line reason when the tree is unusable, else None."""
        if not os.path.isdir(self.root):
            return invalid("root_path", self.root, "not a directory")
        if not os.path.isfile(self.proc("stat")):
            stat = self.proc("stat")
            return invalid("root_path", self.root, f"{stat} not found (is the host's /proc mounted?)")
        return None

    def activate(self) -> None:
        """Point psutil at this tree; psutil keeps it as module state, so this is done once, at start-up."""
        psutil.PROCFS_PATH = self.proc()
