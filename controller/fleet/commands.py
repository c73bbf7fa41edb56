"""``loaxa fleet publish DIR``: publish a signed agent release on this controller."""

from __future__ import annotations

import argparse

from loaxa.cli import set_handler


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fleet", help="agent releases on this controller (rollouts: the web page or /api/rollouts)")
    fsub = p.add_subparsers(dest="fleet_command", metavar="ACTION", required=True)
    pub = fsub.add_parser("publish", help="check a signed release (loaxa release build + sign) and publish it to devices")
    pub.add_argument("directory")
    pub.add_argument("--by", default="cli", help="who publishes it (for the record)")
    set_handler(pub, _publish, "controller")
    ls = fsub.add_parser("releases", help="list published releases")
    set_handler(ls, _list, "controller")


def _store(args: argparse.Namespace):
    from controller.config import load_for_command
    from controller.db import Database
    from controller.fleet.releases import ReleaseStore

    config = load_for_command(args.config)
    db = Database(config.db_path)
    return db, ReleaseStore(db, config.releases_dir, config.fleet)


def _publish(args: argparse.Namespace) -> int:
    from pathlib import Path

    from controller.errors import InputError
    from loaxa.cli import reported

    db, store = _store(args)
    try:
        with reported(InputError):
            row = store.publish(Path(args.directory), args.by)
    finally:
        db.close()
    print(f"published release {row.version}: {row.files} files, {row.total_bytes // 1024} KiB "
          f"(release key {row.kid})")
    return 0


def _list(args: argparse.Namespace) -> int:
    db, store = _store(args)
    try:
        for r in store.list():
            print(f"{r.version:10} {r.total_bytes // 1024:6} KiB  {r.published_at}  {r.notes[:60]}")
    finally:
        db.close()
    return 0
