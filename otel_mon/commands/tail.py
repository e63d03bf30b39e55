"""``otel-mon tail``: the newest spool records as human lines, optionally following new ones (``-f``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from otel_mon.commands.common import spool_command, spool_root
from otel_mon.schema import parse_duration
from otel_mon.spool.reader import Record, SpoolReader
from otel_mon.spool.segments import Signal
from otel_mon.spool.summary import render_logs, render_metrics
from otel_mon.textsafe import printable


def add_parser(sub: Any) -> argparse.ArgumentParser:
    parser = spool_command(
        sub, "tail", help="print the newest spooled logs or metrics",
        description="Print the newest records of the spool, one human line each; -f keeps following.")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--logs", dest="signal", action="store_const", const="logs", help="log records (default)")
    which.add_argument("--metrics", dest="signal", action="store_const", const="metrics", help="metric batches")
    parser.add_argument("-n", "--lines", default="10", help="how many records to print first (default 10)")
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing records as they are written")
    parser.add_argument("--interval", default="500ms", help="time between checks for new records with -f, "
                                                            "e.g. 1s, 500ms (default 500ms)")
    parser.set_defaults(func=main, signal="logs")
    return parser


def _render(signal: Signal, record: Record) -> list[str]:
    return render_logs(record.data) if signal == "logs" else [render_metrics(record.data)]


def main(args: argparse.Namespace) -> int:
    signal: Signal = args.signal
    try:
        count = int(args.lines)
        interval = parse_duration(args.interval)  # like every other duration: 1s, 500ms, or bare seconds
        if count < 0 or not interval > 0:
            raise ValueError
    except ValueError:
        print(f"otel-mon tail: error: -n needs a whole number >= 0 and --interval a duration above 0 such as 1s "
              f"(got {args.lines!r}, {args.interval!r})", file=sys.stderr)
        return 2
    root, code = spool_root(args, "otel-mon tail")
    if root is None:
        return code
    reader = SpoolReader(root, signal)
    try:
        records, end = reader.last(count)
        if not records and count and not args.follow:  # `-n 0` asked for nothing: nothing is missing
            print(f"otel-mon tail: no {signal} in {str(root)!r} yet", file=sys.stderr)
        for record in records:
            _emit(signal, record)
        if args.follow:
            for record in reader.follow(end, poll_interval=interval):
                _emit(signal, record)
    except KeyboardInterrupt:
        return 0
    return 0


def _emit(signal: Signal, record: Record) -> None:
    for line in _render(signal, record):
        print(printable(line), flush=True)  # spooled host values may hold control characters


if __name__ == "__main__":  # pragma: no cover
    _parser = argparse.ArgumentParser(prog="otel-mon")
    add_parser(_parser.add_subparsers(required=True))
    _args = _parser.parse_args()
    sys.exit(_args.func(_args))
