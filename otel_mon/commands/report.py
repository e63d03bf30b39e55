"""``otel-mon report``: headline figures (CPU, memory, filesystems, network, load, probes, health) of a window.

Reads the spool only, so it works on a host whose collector is down, or on a copied ``data`` directory.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from otel_mon.commands.common import spool_command, spool_root
from otel_mon.report.analysis import Report, build_report
from otel_mon.report.text import format_table
from otel_mon.schema import parse_duration
from otel_mon.spool.reader import SpoolReader

DEFAULT_SINCE = 3600.0


def add_parser(sub: Any) -> argparse.ArgumentParser:
    parser = spool_command(
        sub, "report", help="summarise spooled metrics over a time window",
        description="Average, min, max and p95 of the headline metrics in the spool, and time per health state.")
    parser.add_argument("--since", help="window ending now, e.g. 30m, 1h, 7d (default 1h)")
    parser.add_argument("--from", dest="start", metavar="TIME",
                        help="window start: ISO-8601 (UTC unless an offset is given) or epoch seconds")
    parser.add_argument("--to", dest="end", metavar="TIME", help="window end (default now), same forms as --from")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--html", metavar="FILE",
                        help="also write a self-contained HTML page with charts over time (inline SVG, no script)")
    parser.add_argument("--bucket", metavar="DURATION",
                        help="chart bucket for --html, e.g. 1m, 1h (default: from the window; hourly from 12h)")
    parser.set_defaults(func=main)
    return parser


def parse_time(raw: str) -> float:
    """Epoch seconds, or ISO-8601 (``2026-11-25T03:00``, ``...Z``, ``...+01:00``); naive times are UTC."""
    text = raw.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"invalid time {raw!r}: expected ISO-8601 such as 2026-11-25T03:00Z or epoch seconds") \
            from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def window(args: argparse.Namespace, now: float) -> tuple[float | None, float]:
    """(start, end) from --since / --from / --to; ValueError with a one-line reason."""
    if args.since is not None and (args.start is not None or args.end is not None):
        raise ValueError("use either --since or --from/--to, not both")
    if args.since is not None:
        try:
            since = parse_duration(args.since)
        except ValueError as exc:
            raise ValueError(f"invalid --since {args.since!r}: {exc}") from None
        return now - since, now
    end = parse_time(args.end) if args.end is not None else now
    if args.start is not None:
        start: float | None = parse_time(args.start)
    else:  # --to alone: everything up to it; nothing at all: the last hour
        start = None if args.end is not None else end - DEFAULT_SINCE
    if start is not None and start > end:
        raise ValueError("--from is after --to")
    return start, end


def main(args: argparse.Namespace) -> int:
    try:
        start, end = window(args, time.time())
    except ValueError as exc:
        print(f"otel-mon report: error: {exc}", file=sys.stderr)
        return 2
    root, code = spool_root(args, "otel-mon report")
    if root is None:
        return code
    reader = SpoolReader(root, "metrics")
    report = build_report((r.data for r in reader.records(since=start, until=end)), since=start, until=end)
    if reader.corrupt:
        print(f"otel-mon report: skipped {reader.corrupt} corrupt line(s)", file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    if not report.points:
        print(f"otel-mon report: no metrics in {str(root)!r} for this window", file=sys.stderr)
        return 0
    if not args.json:
        print(format_table(report))
    if args.html:
        return write_html(args, root, report, start, end)
    return 0


def write_html(args: argparse.Namespace, root: Path, report: Report, start: float | None, end: float) -> int:
    """The charts page: the same window read again, bucket by bucket, plus the transitions from the logs."""
    from otel_mon.report.html import render
    from otel_mon.report.timeline import build_timeline, transitions

    try:
        bucket = parse_duration(args.bucket) if args.bucket else None
        if bucket is not None and bucket <= 0:
            raise ValueError("must be above 0")
    except ValueError as exc:
        print(f"otel-mon report: error: invalid --bucket {args.bucket!r}: {exc}", file=sys.stderr)
        return 2
    first = start if start is not None else (report.start if report.start is not None else end)
    metrics = SpoolReader(root, "metrics").records(since=first, until=end)
    if bucket is not None and report.interval is not None and bucket < report.interval:
        print(f"otel-mon report: --bucket {args.bucket} is shorter than the data's interval "
              f"({report.interval:g}s): using {report.interval:g}s", file=sys.stderr)
        bucket = report.interval
    timeline = build_timeline((r.data for r in metrics), first, end, bucket, report.interval)
    logs = SpoolReader(root, "logs")
    rows = transitions((r.data for r in logs.records(since=first, until=end)), first, end)
    path = Path(args.html)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(render(report, timeline, rows, timeline.host), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        print(f"otel-mon report: error: cannot write {args.html!r}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"otel-mon report: wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover - convenience for running the command alone
    _parser = argparse.ArgumentParser(prog="otel-mon")
    add_parser(_parser.add_subparsers(required=True))
    _args = _parser.parse_args()
    sys.exit(_args.func(_args))
