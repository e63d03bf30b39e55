"""Every read of the host's /proc and /sys goes through ``HostPaths``, so ``root_path`` covers both (issue 9).

Read from the source with ``ast``: a string literal naming a /proc or /sys path handed to a reading call, or a
CPU count taken from the agent's own view (``os.cpu_count``), is a read that ``root_path`` would not move.
The agent's own process (``/proc/self``) is the one exception: it is this process, not the host.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "otel_mon"

# Checks the code's shape, not its behaviour (the `shape` marker in pyproject.toml).
pytestmark = pytest.mark.shape
READERS = {"open", "read_text", "listdir", "scandir", "stat", "statvfs", "exists", "isfile", "isdir", "Path",
           "glob", "walk", "readlink"}


def _callee(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _host_literal(node: ast.AST) -> str | None:
    """The /proc or /sys path a literal (or f-string) starts with, if any."""
    text = node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        text = str(node.values[0].value)
    if text and (text == "/sys" or text.startswith(("/sys/", "/proc/"))) and not text.startswith("/proc/self/"):
        return text
    return None


def test_host_files_are_read_only_through_host_paths() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "paths.py" and path.parent.name == "host":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and _callee(node) in READERS and node.args:
                literal = _host_literal(node.args[0])
                if literal:
                    wrong.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {_callee(node)}({literal!r})")
            if isinstance(node, ast.Attribute) and node.attr == "cpu_count":
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} cpu_count (not the host's count)")
    # icmp reads the agent's own network namespace's ping_group_range: the sysctl that governs its own socket
    assert [w for w in wrong if "ping_group_range" not in w] == []


def test_the_check_sees_a_direct_read() -> None:
    tree = ast.parse("open('/sys/class/hwmon/x')\nos.cpu_count()\nPath(f'/proc/{pid}/stat')\nopen('/proc/self/fd')")
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and n.args]
    assert [_host_literal(c.args[0]) for c in calls] == ["/sys/class/hwmon/x", "/proc/", None]
