"""Options shared by the commands that load the settings, and turning them into flag overrides."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from otel_mon import config
from otel_mon.config import ConfigError, Settings
from otel_mon.schema import invalid

# Read when neither --config nor OTEL_MON_CONFIG names a file, if it exists (the systemd unit's
# ConfigurationDirectory). A module attribute so tests can point it elsewhere.
DEFAULT_CONFIG = "/etc/otel-mon/config.yaml"
_CONFIG_HELP = (f"YAML config file; repeat to merge several in order (default: OTEL_MON_CONFIG, else "
                f"{DEFAULT_CONFIG} when it exists)")


def config_files(args: argparse.Namespace, env: Mapping[str, str] | None = None,
                 default: str | None = None) -> list[str]:
    """``--config`` (all of them, in order) > ``OTEL_MON_CONFIG`` > the default file when it exists > none."""
    env = os.environ if env is None else env
    default = DEFAULT_CONFIG if default is None else default
    if args.config:
        return [str(path) for path in args.config]
    if env.get("OTEL_MON_CONFIG"):
        return [env["OTEL_MON_CONFIG"]]
    return [default] if os.path.isfile(default) else []


def add_settings_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", metavar="FILE", action="append", default=[], help=_CONFIG_HELP)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any setting by its dotted key, e.g. --set http.port=9100 (repeatable)")
    p.add_argument("--interval", help="collection interval, e.g. 10s, 500ms")
    p.add_argument("--listen", metavar="HOST:PORT",
                   help="address of the status page /, /metrics, /health and /ready (default 127.0.0.1:9464)")
    p.add_argument("--root-path", help="host root mounted in a container, e.g. /hostfs")
    p.add_argument("--data-dir", help="spool directory (default ./data)")
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    p.add_argument("--log-format", choices=["text", "json"])


def flag_overrides(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    flags: dict[str, Any] = {}
    problems: list[str] = []
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            problems.append(invalid("--set", item, "expected KEY=VALUE"))
            continue
        flags[key.strip()] = value
    if args.interval is not None:
        flags["interval"] = args.interval
    if args.listen is not None:
        host, sep, port = args.listen.rpartition(":")
        if not sep or not port:
            problems.append(invalid("--listen", args.listen, "expected HOST:PORT"))
        else:
            flags["http.host"] = host.strip("[]") or "127.0.0.1"
            flags["http.port"] = port
    if args.root_path is not None:
        flags["root_path"] = args.root_path
    if args.data_dir is not None:
        flags["spool.dir"] = args.data_dir
    if args.log_level is not None:
        flags["logging.level"] = args.log_level
    if args.log_format is not None:
        flags["logging.format"] = args.log_format
    return flags, problems


def try_settings(args: argparse.Namespace) -> tuple[Settings | None, list[str]]:
    """The settings from the files, environment and flags; or None and one line per problem."""
    flags, problems = flag_overrides(args)
    try:
        settings = config.load(config_files(args), flags=flags)
    except ConfigError as exc:
        problems.extend(exc.problems)
        settings = None
    return (None, problems) if problems else (settings, [])


def load_settings(args: argparse.Namespace) -> Settings | None:
    """The settings, or None after printing one line per problem to stderr (the caller exits 2)."""
    settings, problems = try_settings(args)
    if problems:
        for problem in problems:
            print(f"otel-mon: config error: {problem}", file=sys.stderr)
        return None
    return settings


def spool_command(sub: Any, name: str, help: str, description: str) -> argparse.ArgumentParser:
    """The parser of a sub-command that reads the spool (``report``, ``tail``): with ``--data-dir`` / ``-c``."""
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help, description=description)
    add_data_dir_options(parser)
    return parser


def add_data_dir_options(p: argparse.ArgumentParser) -> None:
    """For the commands that read the spool: the directory, or the config that names it."""
    p.add_argument("--data-dir", help="spool directory (default: spool.dir of the config, else ./data)")
    p.add_argument("-c", "--config", metavar="FILE", action="append", default=[],
                   help="YAML config file(s) whose spool.dir to read (default: as for run)")


def resolve_data_dir(args: argparse.Namespace) -> str | None:
    """``--data-dir``, else the configured ``spool.dir``; None after printing the config problems."""
    if args.data_dir:
        return str(args.data_dir)
    try:
        return config.load(config_files(args)).spool.dir
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"otel-mon: config error: {problem}", file=sys.stderr)
        return None


def spool_root(args: argparse.Namespace, prog: str) -> tuple[Path | None, int]:
    """The spool directory to read, or (None, exit code) after saying why on stderr."""
    data_dir = resolve_data_dir(args)
    if data_dir is None:
        return None, 2
    root = Path(data_dir)
    if not root.is_dir():
        print(f"{prog}: no spool at {str(root)!r} (directory does not exist)", file=sys.stderr)
        return None, 1
    return root, 0
