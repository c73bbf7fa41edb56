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
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence, TypeVar

from loaxa import __version__
from loaxa.logs import FORMATS, setup_logging

T = TypeVar("T")

COMMAND_MODULES = ("edge_agent.commands", "web.commands", "controller.cli_http.commands", "audio.commands", "controller.operations.backup_commands", "loaxa.install",
                   "controller.people.commands", "controller.security.commands", "controller.operations.retention_commands")


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


def set_handler(parser: argparse.ArgumentParser, handler: Callable[[argparse.Namespace], int], config_of: str | None) -> None:
    """Finish a command's parser: its handler and, when it reads one, the ``--config`` option of ``config_of``'s file.

    One wording of ``--config`` for every command; it stands in the help where this is called
    (usually after the command's own arguments).
    """
    if config_of:
        parser.add_argument("--config", "-c", help=f"the {config_of}'s TOML config (default: built-in defaults + LOAXA_* env)")
    parser.set_defaults(func=handler)


@contextmanager
def reported(*errors: type[Exception]) -> Iterator[None]:
    """Show the user the message of any of ``errors`` raised inside, as a :class:`CommandError`."""
    try:
        yield
    except errors as exc:
        raise CommandError(str(exc)) from None


def load_settings(cls: type[T], path: str | None) -> T:
    """Load a config class for a command; a bad file or override becomes a user-facing CommandError."""
    from loaxa.config import ConfigError, load_config

    with reported(ConfigError):
        return load_config(cls, path)
