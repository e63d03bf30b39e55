"""``otel-mon`` entry point: a thin dispatcher over ``otel_mon.commands``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from otel_mon import __version__

COMMANDS = ("run", "snapshot", "check_config", "report", "tail", "replay")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="otel-mon", description="OpenTelemetry-native host monitoring agent")
    p.add_argument("--version", action="version", version=f"otel-mon {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"otel_mon.commands.{name}").add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if not getattr(args, "func", None):
        p.print_help(sys.stderr)
        return 2
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
