"""``otel-mon replay PATH...``: send spool files (``.jsonl`` / ``.jsonl.gz``) to an OTLP endpoint once.

The endpoint and headers also come from the standard ``OTEL_EXPORTER_OTLP_*`` variables, which keeps tokens
out of the process list; flags win over them. Exit 0 when everything was delivered, 1 when something was
rejected, malformed or the endpoint was unreachable, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from otel_mon import schema
from otel_mon.forward.config import OtlpConfig
from otel_mon.forward.otlp_env import otlp_from_env


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("replay", help="send spool files to an OTLP endpoint; exit 1 if anything was not delivered")
    _arguments(p)
    p.set_defaults(func=main)


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="spool files, plain .jsonl or .jsonl.gz")
    p.add_argument("--endpoint", help="OTLP endpoint (base URL for http/protobuf: /v1/<signal> is appended; "
                                      "default OTEL_EXPORTER_OTLP_ENDPOINT)")
    p.add_argument("--protocol", choices=["grpc", "http/protobuf", "http/json"], help="default http/protobuf")
    p.add_argument("--header", action="append", default=[], metavar="KEY=VALUE",
                   help="request header (repeatable); prefer OTEL_EXPORTER_OTLP_HEADERS for secrets")
    p.add_argument("--insecure", action="store_true", help="no TLS for an endpoint given without a scheme")
    p.add_argument("--certificate", metavar="FILE", help="CA certificate(s) to trust (PEM)")
    p.add_argument("--compression", choices=["gzip", "none"])
    p.add_argument("--timeout", help="per request, e.g. 10s")
    p.add_argument("--rate", type=float, default=0.0, metavar="N", help="at most N lines per second (0 = no limit)")
    p.add_argument("--attempts", type=int, default=5, metavar="N",
                   help="tries per request before the endpoint counts as unreachable (default 5)")


_FLAGS = {"endpoint": "--endpoint", "protocol": "--protocol", "headers": "--header", "timeout": "--timeout",
          "certificate": "--certificate", "compression": "--compression"}


def _as_flag(problem: str) -> str:
    """``endpoint: invalid value ...`` -> ``--endpoint: invalid value ...``: name what the user typed."""
    field = problem.split(":", 1)[0].split(".", 1)[0]
    return _FLAGS[field] + problem[len(field):] if field in _FLAGS else problem


def _fail(message: str) -> int:
    print(f"otel-mon replay: error: {message}", file=sys.stderr)
    return 2


def main(args: argparse.Namespace) -> int:
    raw, problems = otlp_from_env(os.environ)
    raw.setdefault("backoff_initial", 0.5)
    raw.setdefault("backoff_max", 5.0)
    flags: dict[str, Any] = {"endpoint": args.endpoint, "protocol": args.protocol, "certificate": args.certificate,
                             "compression": args.compression, "timeout": args.timeout}
    raw.update({key: value for key, value in flags.items() if value is not None})
    if args.insecure:
        raw["insecure"] = True
    for item in args.header:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            problems.append(schema.render("--header", schema.Problem("--header", "expected KEY=VALUE", hidden=True)))
            continue
        raw.setdefault("headers", {})[key.strip()] = value.strip()
    if args.attempts < 1:
        problems.append(schema.invalid("--attempts", args.attempts, "must be at least 1"))
    if args.rate < 0:
        problems.append(schema.invalid("--rate", args.rate, "must not be negative"))
    if not raw.get("endpoint"):
        problems.append("--endpoint: required (or set OTEL_EXPORTER_OTLP_ENDPOINT)")
    config: OtlpConfig | None = None
    try:
        config = schema.build(OtlpConfig, raw)
    except schema.ConfigError as exc:
        problems.extend(_as_flag(problem) for problem in exc.problems)
    paths = [Path(p) for p in args.paths]
    problems.extend(f"{p}: no such file" for p in paths if not p.is_file())
    if problems or config is None:
        return _fail("; ".join(problems))
    def report(line: str) -> None:
        print(f"otel-mon replay: {line}", file=sys.stderr)

    from otel_mon.forward.replay import Replayer  # grpc and protobuf: only when replaying, not for `run`

    stats = Replayer(config, rate=args.rate, attempts=args.attempts, report=report).run(paths)
    total = sum(stats.sent.values())
    print(f"sent {total} (metrics {stats.sent['metrics']}, logs {stats.sent['logs']}), "
          f"failed {stats.rejected + stats.malformed + stats.unsent} "
          f"(rejected {stats.rejected}, malformed {stats.malformed}, unsent {stats.unsent})")
    if stats.error:
        print(f"otel-mon replay: {_explain(config, stats.error)}", file=sys.stderr)
    return 0 if stats.ok else 1


def _explain(config: OtlpConfig, error: str) -> str:
    """A TLS handshake failure against a scheme-less gRPC endpoint is almost always a plaintext collector."""
    bare = "://" not in (config.endpoint or "")
    tls_failed = "handshake" in error.lower() or "ssl" in error.lower()
    if config.protocol == "grpc" and bare and not config.insecure and tls_failed:
        return (f"TLS handshake with {config.endpoint} failed: an endpoint without a scheme means TLS for gRPC; "
                f"for a plaintext collector use --endpoint http://{config.endpoint} (or --insecure)")
    return error


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="otel-mon replay", description=__doc__.splitlines()[0])
    _arguments(parser)
    sys.exit(main(parser.parse_args()))
