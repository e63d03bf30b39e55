"""``otel-mon snapshot``: one collection printed as JSON, for a quick look or a script."""

from __future__ import annotations

import argparse
import json
import sys
import threading

from otel_mon.commands.common import add_settings_options, load_settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("snapshot", help="collect once and print the metrics as JSON")
    add_settings_options(p)
    p.add_argument("--wait", default="1s",
                   help="time between two reads so rates and utilisation can be computed (0 = one read; default 1s)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from otel_mon.schema import invalid, parse_duration

    settings = load_settings(args)
    if settings is None:
        return 2
    try:
        wait = parse_duration(args.wait)
    except ValueError as exc:
        print(f"otel-mon: config error: {invalid('--wait', args.wait, str(exc))}", file=sys.stderr)
        return 2
    from otel_mon.host import registry
    from otel_mon.host.paths import HostPaths
    from otel_mon.host.sampler import HostSampler

    paths = HostPaths(settings.root_path)
    reason = paths.check()
    if reason:
        print(f"otel-mon: config error: {reason}", file=sys.stderr)
        return 2
    paths.activate()
    sampler = HostSampler(registry.build(settings.host, paths, settings.metric_enabled))
    sampler.refresh()
    if wait > 0:
        threading.Event().wait(wait)
        sampler.refresh()
    snap = sampler.snapshot
    if snap is None:  # refresh() above always leaves one
        raise RuntimeError("the sampler holds no snapshot after a refresh")
    from otel_mon.host.table import BY_NAME

    doc = {
        "time": snap.time,
        "metrics": {
            name: {"unit": BY_NAME[name].unit, "points": [{"attributes": dict(a), "value": v} for v, a in pts]}
            for name, pts in sorted(snap.points.items()) if settings.metric_enabled(BY_NAME[name])
        },
        "readings": snap.readings,
    }
    sampler.close()
    print(json.dumps(doc, indent=2))
    return 0
