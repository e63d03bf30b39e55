"""`make fleet`: the small fleet through every fault, then one line counted by PromQL against the store.

    fleet: agents=N expected=E present=P duplicates=D rejected=R

One fleet (tests/fleet/fleetkit.py: N agents, 2 load balancers, 2 backends, Thanos Receive router + 3
ingestors with replication factor 3, Thanos Query, VictoriaLogs), then in turn: a backend killed -9 for 60 s, a
load balancer killed -9 and restarted, an ingestor killed -9 and restarted, a third backend added while
running. The exit status is 0 only when every collection is present once (P = E, D = 0) and R = 0, and every
log record of every agent's log spool is in VictoriaLogs once (its own line, `fleet logs: expected=E
present=P duplicates=D`, goes to stderr before the last line). Progress goes to stderr, the count line to
stdout. ``--keep DIR`` keeps the work directory (logs of every process).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fleet.fleetkit import Fleet, Missing, wait_until  # noqa: E402


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(fleet: Fleet, outage: float) -> None:
    fleet.wait_collections(3)
    say(f"backend-0 kill -9 for {outage:.0f} s")
    fleet.backends[0].kill9()
    end = time.monotonic() + outage
    wait_until(lambda: time.monotonic() >= end, outage + 30, "the backend outage", interval=1.0)
    fleet.backends[0].start()
    fleet.backends[0].wait_ready()
    say("lb-0 kill -9, restarted after its agents fall behind")
    fleet.load_balancers[0].kill9()
    own = {a.host for i, a in enumerate(fleet.agents) if i % 2 == 0}
    wait_until(lambda: own <= set(fleet.count(time.time() - 4).missing), 90, "lb-0's agents behind", interval=2.0)
    fleet.load_balancers[0].start()
    fleet.load_balancers[0].wait_ready()
    say("ingestor-1 kill -9 for 20 s (replication factor 3)")
    fleet.store.ingestors[1].kill9()
    end = time.monotonic() + 20
    wait_until(lambda: time.monotonic() >= end, 50, "the ingestor outage", interval=1.0)
    fleet.store.ingestors[1].start()
    fleet.store.ingestors[1].wait_ready()
    say("backend-2 added (static resolver rewritten, SIGHUP)")
    fleet.add_backend()
    fleet.wait_collections(len(fleet.agents[0].collections()) + 5)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=10)
    ap.add_argument("--interval", default="2s")
    ap.add_argument("--outage", type=float, default=60.0, help="seconds the backend stays dead")
    ap.add_argument("--keep", type=Path, help="work directory to keep (default: a temporary one, removed)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="otel-mon-fleet-") as tmp:
        work = args.keep or Path(tmp)
        try:
            fleet = Fleet(work, agents=args.agents, interval=args.interval)
        except Missing as err:
            print(f"fleet: {err}", file=sys.stderr)
            return 2
        try:
            say(f"starting {args.agents} agents, 2 load balancers, 2 backends, Thanos Receive x3 + router, "
                f"VictoriaLogs in {work}")
            fleet.start()
            run(fleet, args.outage)
            say("waiting for every collection to reach the store")
            count = fleet.settle()
            logs = fleet.settle_logs()
        finally:
            fleet.stop()
    if not count.ok:
        say(f"missing per host: {count.missing}; store rejections: {count.rejections}")
    if not logs.ok:
        say(f"log records per host (spooled, stored, distinct): {logs.per_host}")
    print(logs.line(), file=sys.stderr, flush=True)
    print(count.line(), flush=True)
    return 0 if count.ok and logs.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
