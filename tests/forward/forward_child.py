"""A forwarder in its own process, for the restart test: ``forward_child.py DATA_DIR CONFIG_JSON``.

Prints ``started`` once running; logs go to stderr; SIGTERM stops it cleanly (SIGKILL is the test's point).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading

from otel_mon import schema
from otel_mon.forward import Forwarder, OtlpConfig


def main() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    config = schema.build(OtlpConfig, json.loads(sys.argv[2]))
    forwarder = Forwarder(config, sys.argv[1])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    forwarder.start()
    print("started", flush=True)
    # A timed wait: an untimed one blocks in the lock and never returns to the interpreter when the kernel
    # delivers SIGTERM to another thread (one of grpc's), so the handler would not run (seen: a 60 s hang).
    while not stop.wait(0.2):
        pass
    forwarder.stop(2.0)


if __name__ == "__main__":
    main()
