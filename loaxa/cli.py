"""The ``loaxa`` command line.

Each package contributes its subcommands through a light ``commands`` module whose
``register(subparsers)`` imports nothing heavy; the work itself is imported only when a
command runs.  That keeps ``loaxa agent`` usable on a Raspberry Pi that has only the
agent's dependencies installed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from loaxa import __version__
from loaxa.logs import FORMATS, setup_logging

COMMAND_MODULES = ("edge_agent.commands", "web.commands", "controller.commands", "audio.commands", "controller.ops_commands", "loaxa.install",
                   "controller.people_commands", "controller.security_commands", "controller.retention_commands")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loaxa", description="Loa Xã: grassroots loudspeaker radio.")
    parser.add_argument("--version", action="version", version=f"loaxa {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--log-format", choices=FORMATS, default=None,
                        help="log lines as text (default) or JSON lines for log shippers (env LOAXA_LOG_FORMAT)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:  # a package absent from this installation
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        setup_logging(args.verbose, args.log_format)
    except ValueError as exc:
        print(f"loaxa: {exc}", file=sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except CommandError as exc:
        print(f"loaxa {args.command}: {exc}", file=sys.stderr)
        return 2


class CommandError(Exception):
    """A command that cannot do what was asked; the message is shown to the user."""


def load_settings(cls, path):
    """Load a config class for a command; a bad file or override becomes a user-facing CommandError."""
    from loaxa.config import ConfigError, load_config

    try:
        return load_config(cls, path)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None

