"""deploy/systemd: the unit passes `systemd-analyze verify` (no running systemd needed) and is hardened."""

from __future__ import annotations

import configparser
import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, agent_env, free_port, need_binary, stop_process, wait_until
from tests.unit_sandbox import sandboxed

UNIT = ROOT / "deploy" / "systemd" / "otel-mon.service"
ENV_FILE = ROOT / "deploy" / "systemd" / "otel-mon.env"


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = need_binary("systemd-analyze")
    # verify insists that ExecStart's binary exists: point it at a stand-in in a temporary directory.
    binary = tmp_path / "otel-mon"
    binary.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    binary.chmod(0o755)
    text = UNIT.read_text(encoding="utf-8")
    assert "ExecStart=/opt/otel-mon/bin/otel-mon run" in text
    unit = tmp_path / "otel-mon.service"
    unit.write_text(text.replace("/opt/otel-mon/bin/otel-mon", str(binary)), encoding="utf-8")
    env = {**os.environ, "SYSTEMD_LOG_LEVEL": "notice"}
    out = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    # Warnings (an unknown key, a typo in a value) still exit 0: hold the unit to no output at all.
    assert out.stderr.strip() == "" and out.stdout.strip() == "", out.stderr + out.stdout


def test_unit_is_hardened_as_documented() -> None:
    service = _unit()["Service"]
    assert service["DynamicUser"] == "yes"
    assert service["StateDirectory"] == "otel-mon"
    assert service["ConfigurationDirectory"] == "otel-mon"
    assert service["ProtectSystem"] == "strict"
    assert service["ProtectHome"] in ("yes", "read-only", "tmpfs")
    assert service["NoNewPrivileges"] == "yes"
    assert service["CapabilityBoundingSet"] == ""  # the icmp probe uses unprivileged ping sockets
    assert service["Restart"] == "on-failure"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    # The spool goes to the state directory, never to ./data relative to whatever the cwd is.
    assert service["Environment"] == "OTEL_MON_SPOOL__DIR=%S/otel-mon"
    assert service["EnvironmentFile"] == "-/etc/default/otel-mon"
    assert service["RestartPreventExitStatus"] == "2"  # a config error: restarting cannot fix it


def test_env_file_only_names_known_settings() -> None:
    """Every variable the env file mentions (commented out) is one the agent accepts."""
    from otel_mon import config

    names = {}
    for line in ENV_FILE.read_text(encoding="utf-8").splitlines():
        body = line.lstrip("#").strip()
        if "=" in body and body.split("=", 1)[0].isupper():
            key, _, value = body.partition("=")
            names[key] = value
    assert "OTEL_MON_HTTP__TOKEN" in names and "OTEL_EXPORTER_OTLP_ENDPOINT" in names
    ours = {k: v or "x" for k, v in names.items() if k.startswith(("OTEL_MON_", "OTEL_EXPORTER_"))}
    config.load(None, env=ours)  # raises ConfigError naming an unknown or bad variable


def _sandboxed(unit: Path, *command: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    need_binary("systemd-analyze")
    need_binary("setpriv")
    return subprocess.run(sandboxed(unit, list(command)), capture_output=True, text=True, timeout=120,
                          cwd=ROOT, **kw)


def test_the_clock_collector_reads_under_the_units_own_sandbox(tmp_path: Path) -> None:
    """The unit's SystemCallFilter, ProtectClock and empty capability set, applied as seccomp + setpriv.

    Under ProtectClock=yes (systemd 252) even adjtimex's read-only mode is refused (EPERM), so the clock
    collector failed at every start; the unit now protects the clock without it.
    """
    port = free_port()
    proc = subprocess.Popen(
        sandboxed(UNIT, [sys.executable, "-m", "otel_mon", "run", "--listen", f"127.0.0.1:{port}",
                         "--data-dir", str(tmp_path / "spool")]),
        cwd=tmp_path, env=agent_env(PYTHONPATH=str(ROOT)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True)
    try:
        def health() -> dict[str, Any] | None:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as resp:
                doc: dict[str, Any] = json.loads(resp.read())
            return doc if "collectors" in doc else None

        doc = wait_until(health, 60, what="/health under the unit's sandbox")
        assert doc["collectors"]["clock"]["ok"] is True, doc["collectors"]["clock"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            body = resp.read().decode()
        assert "\notel_mon_host_clock_synchronized " in body or "\notel_mon_host_clock_synchronized{" in body
        failed = {name: c for name, c in doc["collectors"].items() if not c["ok"]}
        assert failed == {}, failed  # nothing else the agent reads is refused by the sandbox either
    finally:
        stop_process(proc)
    err = proc.stderr.read() if proc.stderr else ""
    assert "PermissionError" not in err and "collector=clock" not in err, err


_WRITE_THE_CLOCK = r"""
import ctypes, errno
libc = ctypes.CDLL("libc.so.6", use_errno=True)
class Timex(ctypes.Structure):
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("rest", ctypes.c_char * 512)]
tx = Timex()
assert libc.adjtimex(ctypes.byref(tx)) >= 0, "the read must work"
tx.modes = 0x0004  # ADJ_MAXERROR, to the value it already has: harmless even where it is allowed
print("adjtimex-write", libc.adjtimex(ctypes.byref(tx)), errno.errorcode.get(ctypes.get_errno()))
seccomp = ctypes.CDLL("libseccomp.so.2")
seccomp.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
number = seccomp.seccomp_syscall_resolve_name
# Raw system calls with arguments that change nothing even where they are allowed: no time, no zone; and
# CLOCK_MONOTONIC, which the kernel never sets (EINVAL): EPERM can only come from the filter.
ctypes.set_errno(0)
print("settimeofday", libc.syscall(number(b"settimeofday"), None, None), errno.errorcode.get(ctypes.get_errno()))
ts = (ctypes.c_long * 2)(0, 0)
ctypes.set_errno(0)
print("clock_settime", libc.syscall(number(b"clock_settime"), 1, ctypes.byref(ts)),
      errno.errorcode.get(ctypes.get_errno()))
"""


def test_the_units_sandbox_still_refuses_to_set_the_clock() -> None:
    out = _sandboxed(UNIT, sys.executable, "-c", _WRITE_THE_CLOCK)
    assert out.returncode == 0, out.stderr
    # adjtimex is allowed for its read: the kernel refuses a write mode (no CAP_SYS_TIME in the bounding set);
    # settimeofday and clock_settime are outside the allow list (EPERM from the filter, not the kernel's EINVAL).
    assert out.stdout.splitlines() == ["adjtimex-write -1 EPERM", "settimeofday -1 EPERM",
                                       "clock_settime -1 EPERM"], out.stdout


def test_the_unit_sets_no_protect_clock_and_allows_only_the_clock_reads() -> None:
    text = UNIT.read_text(encoding="utf-8")
    filters = [line.split("=", 1)[1] for line in text.splitlines() if line.startswith("SystemCallFilter=")]
    assert filters == ["@system-service", "adjtimex clock_adjtime"]
    assert "ProtectClock" not in _unit()["Service"] and _unit()["Service"]["CapabilityBoundingSet"] == ""


def test_the_units_comment_and_documentation_match_the_readme() -> None:
    service = _unit()
    assert service["Unit"]["Documentation"] == "file:///opt/otel-mon/share/doc/otel-mon/README.md"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rss = re.search(r"RSS met\*\*: ([\d.]+) MiB with defaults", readme)
    assert rss, "the README's RSS figure"
    comment = next(line for line in UNIT.read_text(encoding="utf-8").splitlines() if "MiB RSS" in line)
    assert f"near {round(float(rss.group(1)))} MiB RSS" in comment, (comment, rss.group(1))
