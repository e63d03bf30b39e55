"""Real peers for the compat tests: node_exporter 1.12.1 and Prometheus, from the pinned builds.

The pinned Go builds live in build/stack/bin (``make stack-bin``). Until that target exists in the Makefile a
missing build skips (nothing else in the checkout can provide node_exporter 1.12.1: Debian ships 1.5); once it
does, a missing build fails under OTEL_MON_REQUIRE_INTEGRATION like any missing server.
"""

from __future__ import annotations

import os
import re
import subprocess
import urllib.request
from pathlib import Path

import pytest

from otel_mon.host.disk import DisksConfig
from otel_mon.host.filesystem import FilesystemConfig
from otel_mon.host.network import InterfacesConfig
from tests.conftest import ROOT, free_port, stop_process, wait_until

STACK_BIN = Path(os.environ.get("OTEL_MON_STACK_BIN", ROOT / "build" / "stack" / "bin"))


def stack_binary(name: str) -> str:
    path = STACK_BIN / name
    if path.is_file() and os.access(path, os.X_OK):
        return str(path)
    msg = f"{path} is missing: build the pinned peers with `make stack-bin`"
    makefile = (ROOT / "Makefile").read_text()
    if "stack-bin:" in makefile and os.environ.get("OTEL_MON_REQUIRE_INTEGRATION") == "1":
        pytest.fail(msg)
    pytest.skip(msg)


def get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return bytes(resp.read())


class NodeExporter:
    """node_exporter on a free loopback port with the given collector flags."""

    def __init__(self, workdir: Path, *flags: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/metrics"
        self.log = open(workdir / "node_exporter.log", "wb")
        self.proc = subprocess.Popen([stack_binary("node_exporter"), f"--web.listen-address=127.0.0.1:{self.port}",
                                      *flags], stdout=self.log, stderr=subprocess.STDOUT)

        def up() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"node_exporter exited: {(workdir / 'node_exporter.log').read_text()}")
            try:
                return bool(get(self.url, 2))
            except OSError:
                return False

        wait_until(up, 30, what="node_exporter serving")

    def stop(self) -> None:
        stop_process(self.proc)
        self.log.close()


def glob_regex(globs: tuple[str, ...]) -> str:
    """The agent's glob list as one RE2 alternative for node_exporter's exclude flags."""
    def one(glob: str) -> str:
        return "".join(".*" if c == "*" else "." if c == "?" else c if c in "[]" else re.escape(c) for c in glob)
    return "^(" + "|".join(one(g) for g in globs) + ")$"


def node_exporter_as_the_agent(workdir: Path) -> NodeExporter:
    """node_exporter leaving out the disks, interfaces, filesystem types and mount points the agent's
    defaults leave out, so both sides read the same devices."""
    fs = FilesystemConfig()
    return NodeExporter(
        workdir,
        f"--collector.diskstats.device-exclude={glob_regex(DisksConfig().exclude)}",
        f"--collector.netdev.device-exclude={glob_regex(InterfacesConfig().exclude)}",
        f"--collector.filesystem.fs-types-exclude={glob_regex(fs.types.exclude)}",
        f"--collector.filesystem.mount-points-exclude={glob_regex(fs.mountpoints.exclude)}",
    )
