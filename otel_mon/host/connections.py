"""Socket counts by transport and state, refreshed at most every ``connections_interval``.

``psutil.net_connections`` walks every process's fds (10-30 ms on a quiet host, more with many sockets), so
it is off by default and, when on, its last result is reused between refreshes.
"""

from __future__ import annotations

from collections import Counter

import psutil

from otel_mon.host.base import Collected

# psutil's names -> semconv network.connection.state values where they differ.
_STATES = {"syn_recv": "syn_received", "fin_wait1": "fin_wait_1", "fin_wait2": "fin_wait_2", "close": "closed"}


class ConnectionsCollector:
    name = "connections"

    def __init__(self, every: float) -> None:
        self.every = every
        self._at = float("-inf")
        self._counts: Counter[tuple[str, str]] = Counter()

    def collect(self, now: float) -> Collected:
        if now - self._at >= self.every:
            counts: Counter[tuple[str, str]] = Counter()
            for conn in psutil.net_connections(kind="inet"):
                transport = "tcp" if conn.type == 1 else "udp"  # socket.SOCK_STREAM == 1
                raw = conn.status.lower() if conn.status and conn.status != "NONE" else "none"
                state = _STATES.get(raw, raw)
                counts[(transport, state)] += 1
            self._counts, self._at = counts, now
        out = Collected()
        for (transport, state), n in sorted(self._counts.items()):
            out.add("system.network.connection.count", n,
                    {"network.transport": transport, "network.connection.state": state})
        return out
