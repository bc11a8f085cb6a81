"""The ``nk-cds`` command line: one sub-command per module in ``cds/commands/``.

Each command module defines ``NAME``, ``HELP`` and ``register(parser)``/``run(args) -> int``; adding a
command is adding a module and listing it in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS: tuple[str, ...] = (
    "serve",
    "demo",
    "match",
    "load_demo",
    "check",
    "trials",
    "feedback_report",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nk-cds", description="NK-cell trial matching CDS Hooks service")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS:
        try:
            module = importlib.import_module(f"cds.commands.{module_name}")
        except ModuleNotFoundError as exc:  # a command not built yet must not break the others
            if exc.name and exc.name.startswith("cds.commands"):
                continue
            raise
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.register(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
