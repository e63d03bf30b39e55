"""Name resolution and connecting under a deadline, and one-line reasons for network failures (probes, webhooks).

``getaddrinfo`` has no timeout of its own, so it runs in a helper thread that the probe stops waiting for
at the deadline; IP literals skip it.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from typing import Any

from otel_mon.deadline import Deadline

SockAddr = tuple[Any, ...]
AddrInfo = tuple[int, SockAddr]  # (family, sockaddr)


def resolve(host: str, port: int, deadline: Deadline, family: int = socket.AF_UNSPEC) -> list[AddrInfo]:
    """Addresses for ``host`` (system resolver, /etc/hosts included) within the deadline."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        if ip.version == 6:
            return [(socket.AF_INET6, (host, port, 0, 0))]
        return [(socket.AF_INET, (host, port))]
    box: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["infos"] = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
        except Exception as exc:  # handed to the waiting probe
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=work, name="otel-mon-resolve", daemon=True).start()
    if not done.wait(deadline.remaining()):
        raise TimeoutError(f"resolving {host}")
    if "error" in box:
        raise box["error"]
    seen: list[AddrInfo] = []
    for fam, _type, _proto, _canon, addr in box["infos"]:
        if (fam, addr) not in seen:
            seen.append((fam, addr))
    return seen


def connect(addrs: list[AddrInfo], deadline: Deadline) -> socket.socket:
    """A TCP connection to the first address that accepts one; the last error if none does."""
    last: BaseException = OSError("no address")
    for fam, addr in addrs:
        sock = socket.socket(fam, socket.SOCK_STREAM)
        try:
            sock.settimeout(deadline.remaining())
            sock.connect(addr)
        except BaseException as exc:
            sock.close()
            last = exc
            if isinstance(exc, TimeoutError) or deadline.expired():
                break
            continue
        return sock
    raise last


def describe_error(exc: BaseException, timeout: float) -> str:
    """A short, stable reason: what an operator needs, without stack traces or secrets."""
    if isinstance(exc, TimeoutError):
        return f"timeout after {timeout:g}s"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc.__class__.__name__}"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve: {exc.strerror}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by peer"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__
