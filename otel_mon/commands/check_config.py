"""``otel-mon check-config FILE``: validate a config without starting anything."""

from __future__ import annotations

import argparse

from otel_mon.commands.common import add_settings_options, config_files, load_settings
from otel_mon.configdump import to_yaml


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check-config", help="validate a config file; exit 0, or 2 listing every problem")
    p.add_argument("file", nargs="?", help="YAML config file (same as --config)")
    add_settings_options(p)
    p.add_argument("--print", action="store_true",
                   help="print the effective settings as YAML that --config accepts back (secrets redacted)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if args.file:
        args.config = [args.file, *args.config]
    settings = load_settings(args)
    if settings is None:
        return 2
    if args.print:
        print(to_yaml(settings), end="")
    else:
        print(f"{', '.join(config_files(args)) or '(defaults)'}: ok")  # the answer asked for: stdout
    return 0
