"""Operations subcommands: backup and restore of the controller."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backup", help="write a consistent backup of the controller (database, keys, media)")
    p.add_argument("archive", help="output .tar.gz (readable only by you: it holds the signing key)")
    p.add_argument("--config", "-c", help="controller TOML config")
    p.set_defaults(func=_backup)

    p = sub.add_parser("restore", help="restore a controller backup into the configured data dir")
    p.add_argument("archive")
    p.add_argument("--config", "-c", help="controller TOML config")
    p.add_argument("--force", action="store_true", help="overwrite an existing database (stop the controller first)")
    p.set_defaults(func=_restore)


def _config(path: str | None):
    from controller.config import ControllerConfig
    from loaxa.cli import load_settings

    return load_settings(ControllerConfig, path)


def _backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from controller.backup import BackupError, backup
    from loaxa.cli import CommandError

    try:
        manifest = backup(_config(args.config), Path(args.archive))
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    print(f"backup written to {args.archive}: databases {', '.join(manifest['databases'])}, {manifest['files']} files")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from controller.backup import BackupError, restore
    from loaxa.cli import CommandError

    config = _config(args.config)
    try:
        manifest = restore(config, Path(args.archive), force=args.force)
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    print(f"restored backup of {manifest['created_at']} into {config.data_dir}")
    return 0
