"""Which ``Host`` values the server answers without a token: the defence against DNS rebinding.

A web page the operator opens can point its own name at 127.0.0.1 and then read the agent's answers from the
browser (the same origin, as far as the browser knows): everything but the ``Host`` header looks like a local
client. Such a request always names the attacker's host, never an IP address. So, when no token is set, the
server answers only requests whose ``Host`` is an IP literal (any: scrapers address the agent by IP),
``localhost`` (or a name under ``.localhost``), this machine's host name, the listen address, or a name the
operator lists in ``http.allowed_hosts``; others (and a request with no ``Host``) get 421. A token is itself the
defence (a rebinding page cannot know it), so with a token every ``Host`` is served.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable


def allowed_names(listen_host: str, extra: Iterable[str]) -> frozenset[str]:
    """The host names answered without a token (lower case, no port), beside IP literals and localhost."""
    names = {listen_host.lower(), socket.gethostname().lower(), *(n.lower().rstrip(".") for n in extra)}
    names.discard("")
    return frozenset(names)


def host_allowed(host: str | None, names: frozenset[str]) -> bool:
    """True when the ``Host`` header value ``host`` (``name``, ``name:port``, ``[v6]:port``) may be served."""
    if not host:
        return False
    value = host.strip().lower()
    if value.startswith("["):  # [v6] or [v6]:port
        literal, sep, _rest = value[1:].partition("]")
        return bool(sep) and _is_ip(literal)
    name, _, port = value.partition(":") if value.count(":") == 1 else (value, "", "")
    if port and not port.isdigit():
        return False
    name = name.rstrip(".")
    return _is_ip(name) or name == "localhost" or name.endswith(".localhost") or name in names


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
