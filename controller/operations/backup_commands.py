"""Operations subcommands: backup and restore of the controller."""

from __future__ import annotations

import argparse

from loaxa.cli import reported, set_handler


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backup", help="write a consistent backup of the controller (database, keys, media)")
    p.add_argument("archive", help="output .tar.gz (readable only by you: it holds the signing key)")
    set_handler(p, _backup, "controller")

    p = sub.add_parser("restore", help="restore a controller backup into the configured data dir")
    p.add_argument("archive")
    set_handler(p, _restore, "controller")
    p.add_argument("--force", action="store_true", help="overwrite an existing database (stop the controller first)")


def _backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from controller.operations.backup import BackupError, backup
    from controller.config import load_for_command

    with reported(BackupError):
        manifest = backup(load_for_command(args.config), Path(args.archive))
    print(f"backup written to {args.archive}: databases {', '.join(manifest['databases'])}, {manifest['files']} files")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from controller.operations.backup import BackupError, restore
    from controller.config import load_for_command

    config = load_for_command(args.config)
    with reported(BackupError):
        manifest = restore(config, Path(args.archive), force=args.force)
    print(f"restored backup of {manifest['created_at']} into {config.data_dir}")
    return 0
