"""``loaxa retention run [--dry-run]``: prune what has outlived the ``[retention]`` settings now."""

from __future__ import annotations

import argparse

from loaxa.cli import set_handler


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("retention", help="prune old playback events, audit entries, notifications and unused media")
    rsub = p.add_subparsers(dest="retention_command", metavar="ACTION", required=True)
    r = rsub.add_parser("run", help="prune now what the [retention] settings no longer keep (the controller also runs this daily)")
    set_handler(r, _run, "controller")
    r.add_argument("--dry-run", action="store_true", help="only count what would be pruned")


def _run(args: argparse.Namespace) -> int:
    from controller.config import load_for_command
    from controller.db import Database
    from controller.operations.retention import Retention
    from controller.security.keyring import Keyring
    from loaxa.cli import CommandError

    config = load_for_command(args.config)
    if not config.db_path.is_file():
        raise CommandError(f"no controller database at {config.db_path}")
    db = Database(config.db_path)
    try:
        keyring = Keyring(config.key_path)
        report = Retention(db, config.retention, config.media_dir, keyring.sign_detached).run(dry_run=args.dry_run)
    finally:
        db.close()
    print(report.summary())
    return 1 if report.skipped_chains else 0
