"""The OTel resource describing this agent and its host (semconv service.*, host.*, os.*, process.*).

The agent's own ``process.*`` metrics are identified by the process entity (``process.pid`` and
``process.creation.time``), put on this one resource as the SDK's own ProcessResourceDetector does: a second
resource would need a second MeterProvider, a second collection and a second batch per interval for series
that already have exactly one producing process (``service.instance.id`` is per process too).
"""

from __future__ import annotations

import os
import platform
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from otel_mon import __version__
from otel_mon.host.paths import HostPaths
from otel_mon.host.procfs import parse_os_release
from otel_mon.timefmt import iso

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource


@dataclass(frozen=True)
class ResourceConfig:
    """``service_name`` and ``resource_attributes`` (top-level keys; OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES)."""

    service_name: str = "otel-mon"
    resource_attributes: dict[str, str] = field(default_factory=dict)


# service.instance.id of an agent on a host with a machine id: a UUIDv5 of (host.id, service.name), so a restart
# continues the same series instead of starting new ones (semconv recommends a stable v5 id where one can be
# derived). This namespace is fixed forever: changing it would change every host's id.
INSTANCE_ID_NAMESPACE = uuid.UUID("6f1e3c2a-8d4b-5e7f-9a0c-1b2d3e4f5a6b")

# platform.machine() -> semconv host.arch values
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i686": "x86", "i386": "x86",
         "ppc64le": "ppc64", "ppc64": "ppc64", "s390x": "s390x", "armv7l": "arm32"}


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().strip() or None
    except OSError:
        return None


def process_creation_time() -> str:
    """When this process started, ISO 8601 UTC (from /proc/self/stat's start time and the boot time)."""
    started = time.time()
    try:
        stat = _read("/proc/self/stat") or ""
        ticks = int(stat[stat.rfind(")") + 2 :].split()[19])
        boot = next(int(line.split()[1]) for line in (_read("/proc/stat") or "").splitlines()
                    if line.startswith("btime "))
        started = boot + ticks / os.sysconf("SC_CLK_TCK")
    except (ValueError, IndexError, StopIteration, OSError):
        pass
    return iso(started)


def instance_id(machine_id: str | None, service_name: str) -> str:
    """Stable per host and service when the host has a machine id; random per start otherwise."""
    if not machine_id:
        return str(uuid.uuid4())
    return str(uuid.uuid5(INSTANCE_ID_NAMESPACE, f"{machine_id}/{service_name}"))


def build_resource(settings: ResourceConfig, paths: HostPaths) -> Resource:
    from opentelemetry.sdk.resources import Resource  # the SDK: only the agent needs it

    machine_id = _read(paths.etc("machine-id")) or _read(paths.rootfs("/var/lib/dbus/machine-id"))
    hostname = (_read(paths.etc("hostname")) if paths.root not in ("", "/") else None) or socket.gethostname()
    release = parse_os_release(_read(paths.etc("os-release")) or _read(paths.rootfs("/usr/lib/os-release")) or "")
    kernel = _read(paths.proc("sys", "kernel", "osrelease")) or platform.release()
    description = " ".join(p for p in (release.get("PRETTY_NAME"), f"(Linux {kernel})") if p)
    attrs: dict[str, str | int] = {
        "service.name": settings.service_name,
        "service.version": __version__,
        "host.name": hostname,
        "host.arch": _ARCH.get(platform.machine().lower(), platform.machine().lower()),
        "os.type": "linux",
        "os.description": description,
        "process.pid": os.getpid(),
        "process.creation.time": process_creation_time(),
    }
    # os.name / os.version from os-release (NAME, VERSION_ID); os.build_id is BUILD_ID where the distribution
    # sets one (rolling releases), else the kernel release, the build that actually runs.
    if release.get("NAME"):
        attrs["os.name"] = release["NAME"]
    if release.get("VERSION_ID"):
        attrs["os.version"] = release["VERSION_ID"]
    attrs["os.build_id"] = release.get("BUILD_ID") or kernel
    if machine_id:
        attrs["host.id"] = machine_id
    # OTEL_RESOURCE_ATTRIBUTES / resource_attributes win over detection, except service.name which has its own key.
    attrs.update({k: v for k, v in settings.resource_attributes.items() if k != "service.name"})
    if settings.service_name == "otel-mon" and "service.name" in settings.resource_attributes:
        attrs["service.name"] = settings.resource_attributes["service.name"]
    host_id = attrs.get("host.id")
    attrs.setdefault("service.instance.id", instance_id(str(host_id) if host_id else None, str(attrs["service.name"])))
    return Resource.create(attrs)
