"""The OTel resource describing this agent and its host (semconv service.*, host.*, os.*)."""

from __future__ import annotations

import platform
import socket
import uuid

from opentelemetry.sdk.resources import Resource

from otel_mon import __version__
from otel_mon.config import Settings
from otel_mon.host.paths import HostPaths
from otel_mon.host.procfs import parse_os_release

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


def instance_id(machine_id: str | None, service_name: str) -> str:
    """Stable per host and service when the host has a machine id; random per start otherwise."""
    if not machine_id:
        return str(uuid.uuid4())
    return str(uuid.uuid5(INSTANCE_ID_NAMESPACE, f"{machine_id}/{service_name}"))


def build_resource(settings: Settings, paths: HostPaths) -> Resource:
    machine_id = _read(paths.etc("machine-id")) or _read(paths.rootfs("/var/lib/dbus/machine-id"))
    hostname = (_read(paths.etc("hostname")) if paths.root not in ("", "/") else None) or socket.gethostname()
    release = parse_os_release(_read(paths.etc("os-release")) or _read(paths.rootfs("/usr/lib/os-release")) or "")
    kernel = _read(paths.proc("sys", "kernel", "osrelease")) or platform.release()
    description = " ".join(p for p in (release.get("PRETTY_NAME"), f"(Linux {kernel})") if p)
    attrs: dict[str, str] = {
        "service.name": settings.service_name,
        "service.version": __version__,
        "host.name": hostname,
        "host.arch": _ARCH.get(platform.machine().lower(), platform.machine().lower()),
        "os.type": "linux",
        "os.description": description,
    }
    if machine_id:
        attrs["host.id"] = machine_id
    # OTEL_RESOURCE_ATTRIBUTES / resource_attributes win over detection, except service.name which has its own key.
    attrs.update({k: v for k, v in settings.resource_attributes.items() if k != "service.name"})
    if settings.service_name == "otel-mon" and "service.name" in settings.resource_attributes:
        attrs["service.name"] = settings.resource_attributes["service.name"]
    attrs.setdefault("service.instance.id", instance_id(attrs.get("host.id"), attrs["service.name"]))
    return Resource.create(attrs)
