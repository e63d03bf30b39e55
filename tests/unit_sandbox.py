"""Run a command under the system-call filter and capability rules of a systemd unit, where PID 1 is no systemd.

systemd-run needs a running systemd; this machine's PID 1 is not one. What the unit's sandbox does to a
system call is two kernel mechanisms, both available here without systemd:

- ``SystemCallFilter=`` (an allow list, ``SystemCallErrorNumber=EPERM`` for the rest) and ``ProtectClock=yes``
  (a second filter that refuses systemd's ``@clock`` group with EPERM, whatever the allow list says) are seccomp
  filters. The groups are expanded by ``systemd-analyze syscall-filter``, i.e. by the installed systemd's own
  tables, and the filters loaded through libseccomp, as systemd loads them.
- ``CapabilityBoundingSet=`` empty and ``NoNewPrivileges=yes``: ``setpriv`` (util-linux) clears the bounding
  and inheritable sets and sets no_new_privs before the exec, so even uid 0 runs without a capability.

``python -m tests.unit_sandbox UNIT -- CMD...`` loads the filters of UNIT's ``[Service]`` section into itself
and execs CMD; :func:`sandboxed` builds the whole command line (setpriv first).
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

SCMP_ACT_ALLOW = 0x7FFF0000


def _scmp_act_errno(code: int) -> int:
    return 0x00050000 | (code & 0x0000FFFF)


def service_section(unit: Path) -> dict[str, list[str]]:
    """Every ``key=value`` of ``[Service]``, a repeated key's values kept in order (systemd merges them)."""
    out: dict[str, list[str]] = {}
    section = ""
    for raw in unit.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service" and "=" in line:
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def expand(names: list[str], analyze: str) -> set[str]:
    """System call names, with ``@group`` expanded recursively by the installed systemd."""
    out: set[str] = set()
    for name in names:
        if not name.startswith("@"):
            out.add(name)
            continue
        text = subprocess.run([analyze, "syscall-filter", name], capture_output=True, text=True, check=True,
                              timeout=60).stdout
        for line in text.splitlines()[1:]:
            item = line.strip()
            if not item or item.startswith("#"):
                continue
            out |= expand([item], analyze) if item.startswith("@") else {item}
    return out


def filters(service: dict[str, list[str]], analyze: str) -> tuple[set[str] | None, set[str], set[str]]:
    """(allowed or None for no allow list, refused by the allow list's ``~`` entries, refused by ProtectClock)."""
    allowed: set[str] | None = None
    refused: set[str] = set()
    for line in service.get("SystemCallFilter", []):
        deny = line.startswith("~")
        names = expand(line.lstrip("~").split(), analyze)
        if deny:
            refused |= names
            if allowed is not None:
                allowed -= names
        elif allowed is None:
            allowed = names
        else:
            allowed |= names
    clock: set[str] = set()
    if service.get("ProtectClock", ["no"])[-1] == "yes":
        clock = expand(["@clock"], analyze)
    return allowed, refused, clock


def _load(allowed: set[str] | None, refused: set[str], clock: set[str], error: int) -> None:
    lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]

    def load(default: int, action: int, names: set[str]) -> None:
        ctx = lib.seccomp_init(default)
        if not ctx:
            raise OSError("seccomp_init failed")
        for name in sorted(names):
            number = lib.seccomp_syscall_resolve_name(name.encode())
            if number < 0:  # not a system call of this architecture (the groups list every architecture's)
                continue
            rc = lib.seccomp_rule_add(ctx, action, number, 0)
            if rc < 0:
                raise OSError(-rc, f"seccomp_rule_add({name})")
        rc = lib.seccomp_load(ctx)
        lib.seccomp_release(ctx)
        if rc < 0:
            raise OSError(-rc, "seccomp_load")

    deny = _scmp_act_errno(error)
    # systemd's order: ProtectClock's own filter first, SystemCallFilter last (which may refuse seccomp(2)
    # itself); the kernel applies the stricter answer of the two.
    if clock:
        load(SCMP_ACT_ALLOW, deny, clock)
    if allowed is not None:
        load(deny, SCMP_ACT_ALLOW, allowed)
    elif refused:
        load(SCMP_ACT_ALLOW, deny, refused)


def sandboxed(unit: Path, command: list[str]) -> list[str]:
    """The command line that runs ``command`` under ``unit``'s capability and system-call rules."""
    setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
    return [setpriv, "--no-new-privs", "--bounding-set=-all", "--inh-caps=-all",
            sys.executable, "-m", "tests.unit_sandbox", str(unit), "--", *command]


def main(argv: list[str]) -> int:
    unit, sep, *command = argv
    assert sep == "--" and command, "usage: python -m tests.unit_sandbox UNIT -- CMD..."
    service = service_section(Path(unit))
    analyze = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
    allowed, refused, clock = filters(service, analyze)
    name = service.get("SystemCallErrorNumber", ["EPERM"])[-1]
    _load(allowed, refused, clock, getattr(errno, name))
    os.execvp(command[0], command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
