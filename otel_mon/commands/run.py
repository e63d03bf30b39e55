"""``otel-mon run``: start the agent and serve until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import logging
import os
import select
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from otel_mon.commands.common import add_settings_options, load_settings, try_settings
from otel_mon.config import ConfigError
from otel_mon.http.auth import TlsError
from otel_mon.logsetup import configure_console

if TYPE_CHECKING:
    from otel_mon.agent import Agent

log = logging.getLogger("otel_mon")
_SETTLE_POLL = 0.1  # how often a held SIGHUP looks whether the last reload's old parts have stopped


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run the agent (default: status page /, /metrics, /health on 127.0.0.1:9464)",
                       description="Run the agent. It serves the status page at /, Prometheus metrics at /metrics, "
                                   "a JSON health document at /health and /ready (default http://127.0.0.1:9464/), "
                                   "and writes every collection to the spool (default ./data).")
    add_settings_options(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    if settings is None:
        return 2
    configure_console(settings.logging.level, settings.logging.format)
    from otel_mon.agent import Agent
    from otel_mon.host.paths import HostPaths
    from otel_mon.http.server import ListenError
    from otel_mon.spool.writer import SpoolLockedError

    reason = HostPaths(settings.root_path).check()
    if reason:
        print(f"otel-mon: config error: {reason}", file=sys.stderr)
        return 2
    try:
        agent = Agent(settings)
    except ConfigError as exc:  # e.g. a webhook secret file that vanished since the config was checked
        for problem in exc.problems:
            print(f"otel-mon: config error: {problem}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"otel-mon: config error: {exc}", file=sys.stderr)
        return 2
    except SpoolLockedError as exc:  # another agent writes there
        print(f"otel-mon: cannot start: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # an unwritable spool directory, ...
        print(f"otel-mon: cannot start: {_name_setting(exc, settings.spool.dir)}", file=sys.stderr)
        return 1

    signals = StopSignals()
    try:
        agent.start()
    except TlsError as exc:  # the certificate or key named in the config is unusable: a config problem
        print(f"otel-mon: config error: {exc}", file=sys.stderr)
        agent.stop()
        return 2
    except ListenError as exc:  # a busy port or an address this host lacks: restarting cannot fix it
        print(f"otel-mon: config error: {exc} (http.port, --listen)", file=sys.stderr)
        agent.stop()
        return 2
    except OSError as exc:
        print(f"otel-mon: cannot start: {exc}", file=sys.stderr)
        agent.stop()
        return 1
    received = signals.wait()
    while received == "SIGHUP":
        reload(agent, args)
        received = signals.wait(settled=agent.retired)
    log.info("signal received, stopping", extra={"signal": received})
    agent.stop()
    return 0


def reload(agent: Agent, args: argparse.Namespace) -> None:
    """SIGHUP: read the configuration again; a bad one is refused and the running one stays."""
    log.info("SIGHUP received, reloading the configuration")
    settings, problems = try_settings(args)
    if settings is None:
        for problem in problems:
            log.error("reload refused, the running configuration stays: %s", problem)
        return
    try:
        kept = agent.reload(settings)  # builds the new parts first: a failure leaves the running ones in place
    except Exception:
        log.exception("reload failed, the running configuration stays")
        return
    configure_console(settings.logging.level, settings.logging.format)
    if kept:
        log.warning("reload: these settings need a restart and keep their running values: %s", ", ".join(kept))
    log.info("configuration reloaded", extra={"probes": len(settings.probes),
                                              "rules": len(settings.health.rules),
                                              "notifiers": len(settings.health.notifiers)})


def _name_setting(exc: OSError, spool_dir: str) -> str:
    """``spool.dir (--data-dir) '/proc/foo': No such file or directory`` rather than a bare errno line."""
    if exc.filename is not None and Path(os.fsdecode(exc.filename)).is_relative_to(Path(spool_dir)):
        return f"spool.dir (--data-dir) {spool_dir!r}: {exc.strerror or exc}"
    return str(exc)


class StopSignals:
    """SIGTERM / SIGINT (and SIGHUP, reload) delivered through a pipe, not acted on inside a signal handler.

    A Python handler runs between two bytecodes of the main thread, possibly while that thread holds a lock
    (an Event's, logging's): setting an Event or logging from it can deadlock the agent on a second signal.
    The C-level wakeup fd writes the signal number to a pipe, the handler does nothing, and the main thread
    blocks reading the pipe.
    """

    def __init__(self) -> None:
        self._read, write = os.pipe()
        os.set_blocking(write, False)
        os.set_blocking(self._read, False)
        signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, _ignore)

    def wait(self, settled: Callable[[], bool] | None = None) -> str:
        """Block until SIGTERM, SIGINT or SIGHUP arrives; its name.

        Everything queued is read at once: SIGTERM or SIGINT among it wins (a stop pre-empts pending reloads),
        and any number of queued SIGHUPs is one reload (a storm of them costs one, not one each). With
        ``settled``, a SIGHUP is held until it returns true (the last reload's old parts have stopped), looking
        again every 0.1 s, while a stop is still taken at once: HUPs meanwhile coalesce into one reload.
        """
        hup = False
        while True:
            select.select([self._read], [], [], _SETTLE_POLL if hup else None)
            data = b""
            while True:
                try:
                    chunk = os.read(self._read, 4096)
                except BlockingIOError:
                    break
                if not chunk:
                    break
                data += chunk
            for sig in (signal.SIGTERM, signal.SIGINT):
                if sig in data:
                    return signal.Signals(sig).name
            hup = hup or signal.SIGHUP in data
            if hup and (settled is None or settled()):
                return "SIGHUP"


def _ignore(_signum: int, _frame: FrameType | None) -> None:
    """Installed so the signals do not kill the process; the wakeup fd carries them to ``StopSignals``."""
