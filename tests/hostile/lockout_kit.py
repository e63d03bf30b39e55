"""The victim's side of a lockout attack, shared by tests/hostile/test_hostile_lockout.py (a floor on the agent)
and benchmarks/bench_lockout.py (the agent beside node_exporter): the attack shapes, one timed scrape, and a
round of them at a scraper's pace. The attacker itself is ``lockout_attacker.py``, run as its own process."""

from __future__ import annotations

import http.client
import time
from pathlib import Path

ATTACKER = Path(__file__).with_name("lockout_attacker.py")
# (shape, connections, whether the server wants a token the attacker does not have): issue 23's cases
SHAPES = [("keepalive", 64, False), ("keepalive", 64, True), ("silent", 300, False), ("slowhead", 200, False)]
LIMIT = 1.0  # seconds: a scrape slower than this counts as locked out
PACE = 0.05  # seconds between a scraper's attempts


def scrape_seconds(port: int, headers: dict[str, str], must_hold: bytes = b"") -> float | None:
    """Seconds to a whole 200 answer of /metrics on a new connection (holding ``must_hold``), or None: over
    ``LIMIT``, refused, reset, another status."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=LIMIT)
    try:
        conn.request("GET", "/metrics", headers=headers)
        response = conn.getresponse()
        body = response.read()
        elapsed = time.monotonic() - started
        return elapsed if response.status == 200 and must_hold in body and elapsed <= LIMIT else None
    except OSError:
        return None
    finally:
        conn.close()


def scrape_round(port: int, headers: dict[str, str], attempts: int, must_hold: bytes = b"") -> tuple[int, float]:
    """``attempts`` scrapes at the scraper's pace: how many were served within ``LIMIT``, and their p99 (NaN
    when none was)."""
    times = []
    for _ in range(attempts):
        times.append(scrape_seconds(port, headers, must_hold))
        time.sleep(PACE)  # the scraper's own pace, not a synchronisation
    served = sorted(t for t in times if t is not None)
    p99 = served[max(int(len(served) * 0.99) - 1, 0)] if served else float("nan")
    return len(served), p99
