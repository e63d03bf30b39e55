"""Sub-commands of the ``otel-mon`` CLI, one module each.

Every module exposes ``add_parser(sub)`` which registers its parser and sets ``func`` to a
``main(args) -> int`` returning the process exit code. ``cli.py`` lists the modules in ``COMMANDS``.
"""
