"""``otel-mon`` entry point: a thin dispatcher over ``otel_mon.commands``."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Sequence

from otel_mon import __version__

# gRPC's C core prints its own info lines (a failed TLS handshake...) on stderr, around our one-line errors;
# it reads this once, when the first command module imports grpc. An explicit setting wins.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

COMMANDS = ("run", "snapshot", "check_config", "report", "tail", "replay")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="otel-mon", description="OpenTelemetry-native host monitoring agent")
    p.add_argument("--version", action="version", version=f"otel-mon {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"otel_mon.commands.{name}").add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    try:
        try:
            return _dispatch(argv)
        finally:
            sys.stdout.flush()  # here, not at interpreter exit, so a closed pipe is caught below
    except BrokenPipeError:
        # `otel-mon ... | head`: the reader went away. Exit quietly as coreutils do (128 + SIGPIPE), with
        # stdout on /dev/null so the interpreter's last flush cannot print a traceback either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


def _dispatch(argv: Sequence[str] | None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if not getattr(args, "func", None):
        p.print_help(sys.stderr)
        return 2
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
