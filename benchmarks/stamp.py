"""The line every README table starts with: when, on what machine, with which versions and which command."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from servers import node_exporter_binary

ROOT = Path(__file__).resolve().parent.parent


def version_of(argv: list[str]) -> str:
    """The first word starting with a digit in a program's ``--version`` output, or ``?``."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "?"
    text = (out.stdout or out.stderr).split("\n", 1)[0]
    for word in text.split():
        if word[:1].isdigit():
            return word
    return "?"


def machine() -> str:
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), Linux {platform.release()}"


def revision() -> str:
    """The checkout's short commit, ``+dirty`` when it has uncommitted changes to tracked files."""
    git = ["git", "-C", str(ROOT)]
    rev = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                         check=False).stdout.strip()
    dirty = subprocess.run([*git, "diff", "--quiet", "HEAD", "--", "otel_mon", "benchmarks",
                            ":(exclude)benchmarks/results"], check=False).returncode
    return rev + ("+dirty" if rev and dirty else "")


def versions(node_exporter: bool = True) -> str:
    from importlib.metadata import version

    import psutil

    parts = [f"Python {platform.python_version()}", f"psutil {psutil.__version__}",
             f"opentelemetry-sdk {version('opentelemetry-sdk')}"]
    ne = node_exporter_binary() if node_exporter else None
    if ne:
        parts.append(f"node_exporter {version_of([ne, '--version'])}")
    rev = revision()
    if rev:
        parts.append(f"otel-mon {rev}")
    return ", ".join(parts)


def header(node_exporter: bool = True) -> str:
    """``Measured <UTC> on <machine>; <versions>.`` and the command line that produced the table."""
    args, skip = [], False
    for arg in sys.argv[1:]:  # where the table was written is no part of how it was measured
        if skip or arg.startswith(("--markdown=", "--json=")):
            skip = False
            continue
        skip = arg in ("--markdown", "--json")
        if not skip:
            args.append(arg)
    argv = " ".join(["python", f"benchmarks/{Path(sys.argv[0]).name}", *args])
    return (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine()}; "
            f"{versions(node_exporter)}.\n`{argv}`")
