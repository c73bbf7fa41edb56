"""``loaxa user`` and ``loaxa audit``: accounts and the tamper check, run on the controller machine.

They open the controller's database directly (SQLite allows it while the controller runs),
so the first administrator can be created before anyone can sign in: there is no default
password.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from loaxa.cli import CommandError, reported, set_handler

if TYPE_CHECKING:
    from controller.reports.audit import AuditTrail
    from controller.db import Database
    from controller.people.users import Users


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("user", help="accounts: add users, API tokens, passwords")
    usub = p.add_subparsers(dest="user_command", metavar="ACTION", required=True)

    a = usub.add_parser("add", help="add a user; the password is asked for (or read from stdin when piped)")
    a.add_argument("username")
    a.add_argument("--role", required=True, choices=["admin", "approver", "editor", "auditor"])
    a.add_argument("--unit", required=True, help="unit id the role holds in (with everything below it); '*' = whole tree")
    a.add_argument("--name", default="", help="full name shown in the UI")
    a.add_argument("--unit-name", default="", help="create --unit as a new top-level unit with this name if it does not exist")
    a.add_argument("--token", action="store_true", help="also create an API token and print it")
    set_handler(a, _user_add, "controller")

    t = usub.add_parser("token", help="create an API token for a user (printed once)")
    t.add_argument("username")
    t.add_argument("--name", default="", help="what the token is for")
    set_handler(t, _user_token, "controller")

    r = usub.add_parser("revoke-tokens", help="revoke a user's API tokens (all, or those with --name)")
    r.add_argument("username")
    r.add_argument("--name", default=None, help="only tokens created with this --name")
    set_handler(r, _user_revoke_tokens, "controller")

    w = usub.add_parser("passwd", help="set a user's password (asked for, or read from stdin); ends their sessions")
    w.add_argument("username")
    set_handler(w, _user_passwd, "controller")

    d = usub.add_parser("disable", help="disable a user: sign-ins, sessions and tokens stop working")
    d.add_argument("username")
    set_handler(d, _user_disable, "controller")

    e = usub.add_parser("enable", help="enable a disabled user again with a new password (asked for, or read from "
                                       "stdin); old API tokens stay revoked")
    e.add_argument("username")
    set_handler(e, _user_enable, "controller")

    ls = usub.add_parser("list", help="list active users (--disabled: the disabled ones)")
    ls.add_argument("--disabled", action="store_true", help="list disabled users instead")
    set_handler(ls, _user_list, "controller")

    p = sub.add_parser("audit", help="the audit trail: verify the hash chains, show recent entries")
    asub = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    v = asub.add_parser("verify", help="check the audit trail and playback events for edited, inserted or deleted rows")
    v.add_argument("--heads", action="append", default=[], metavar="FILE|URL",
                   help="a signed copy of the chain heads kept off this machine (a pole's chain-heads.json, the "
                        "province's copy, or a receiving controller's https://<host>/api/heads-copies/<name>, every "
                        "copy it kept); repeat for several. A chain that disagrees with any copy is TAMPERED")
    v.add_argument("--cafile", help="CA certificate verifying an https:// --heads URL (default: [retention] heads_copy_cafile)")
    set_handler(v, _audit_verify, "controller")
    s = asub.add_parser("list", help="recent audit entries, newest first")
    s.add_argument("--limit", type=int, default=50)
    s.add_argument("--action", help="only this action (e.g. login_failed)")
    set_handler(s, _audit_list, "controller")


@contextmanager
def _people(args: argparse.Namespace) -> Iterator[tuple["Database", "Users", "AuditTrail"]]:
    """The controller's database, accounts and audit trail for a command run beside it.

    The database is closed afterwards, and bad input (an unknown user, a weak password) is
    shown to the user.
    """
    from controller.reports.audit import AuditTrail
    from controller.config import ControllerConfig
    from controller.db import Database
    from controller.errors import InputError
    from controller.people.users import Users
    from loaxa.cli import load_settings

    config = load_settings(ControllerConfig, args.config)
    db = Database(config.db_path)
    try:
        with reported(InputError):
            yield db, Users(db, config.people), AuditTrail(db)
    finally:
        db.close()


def _read_password(prompt: str = "Password") -> str:
    import getpass

    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise CommandError("no password on stdin")
        return line.rstrip("\r\n")
    first = getpass.getpass(f"{prompt}: ")
    if getpass.getpass(f"{prompt} (again): ") != first:
        raise CommandError("the passwords differ")
    return first


def _user_add(args: argparse.Namespace) -> int:
    from controller.people.users import WHOLE_TREE

    with _people(args) as (db, users, audit):
        if args.unit != WHOLE_TREE and args.unit_name:
            with db.tx() as conn:
                exists = conn["units"].count_where("id = ?", [args.unit])
            if not exists:
                from controller.devices.registry import Registry

                Registry(db).add_unit(args.unit, args.unit_name, None, "")
                audit.record("cli", "unit_added", args.unit, {"parent_id": None})
        password = _read_password()
        user = users.add(args.username, password, args.role, args.unit, args.name)
        audit.record("cli", "user_added", user.username, {"role": user.role, "unit_id": args.unit})
        print(f"user {user.username}: {user.role} of {args.unit}")
        if args.token:
            print(users.create_token(user.username, "cli"))
            audit.record("cli", "token_created", user.username, {"name": "cli"})
    return 0


def _user_token(args: argparse.Namespace) -> int:
    with _people(args) as (_, users, audit):
        print(users.create_token(args.username, args.name))
        audit.record("cli", "token_created", args.username, {"name": args.name})
    return 0


def _user_revoke_tokens(args: argparse.Namespace) -> int:
    with _people(args) as (_, users, audit):
        n = users.revoke_tokens(args.username, args.name)
        audit.record("cli", "tokens_revoked", args.username, {"name": args.name, "count": n})
    print(f"{n} token(s) of {args.username} revoked")
    return 0


def _user_passwd(args: argparse.Namespace) -> int:
    with _people(args) as (_, users, audit):
        users.set_password(args.username, _read_password("New password"))
        audit.record("cli", "password_changed", args.username)
    print(f"password of {args.username} changed; their sessions have ended")
    return 0


def _user_disable(args: argparse.Namespace) -> int:
    with _people(args) as (_, users, audit):
        users.disable(args.username)
        audit.record("cli", "user_disabled", args.username)
    print(f"{args.username} disabled")
    return 0


def _user_enable(args: argparse.Namespace) -> int:
    with _people(args) as (_, users, audit):
        _, revoked = users.enable(args.username, _read_password("New password"))
        audit.record("cli", "user_enabled", args.username, {"tokens_revoked": revoked})
    print(f"{args.username} enabled with the new password; {revoked} old API token(s) revoked")
    return 0


def _user_list(args: argparse.Namespace) -> int:
    with _people(args) as (_, users, _):
        for u in users.list(disabled=args.disabled):
            d = u.to_dict()
            print(f"{d['username']:<24} {d['role']:<9} {d['unit_id']:<20} {d['display_name']}")
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    from controller.config import ControllerConfig
    from controller.reports.audit import verify_all
    from controller.security.key_file import trusted_public_keys
    from loaxa.cli import load_settings

    from controller.reports.head_copies import copies_from

    config = load_settings(ControllerConfig, args.config)
    keys = trusted_public_keys(config.key_path)
    copies, refused = copies_from(args.heads, keys, args.cafile or config.retention.heads_copy_cafile or None)
    bad = 0
    for why in refused:
        print(f"copy refused: {why}")
        bad += 1
    if args.heads:
        kept = sum(len(c) for c in copies.values())
        print(f"compared with {kept} chain heads from {len(args.heads)} source(s) of signed copies ({len(copies)} chains)")
    with _people(args) as (db, _, _):
        reports = verify_all(db, keys, config.retention.minimum_days, copies)
    for r in reports:
        print(f"{r.table}: {r.rows} rows in {r.chains} chain(s): {'intact' if r.ok else 'TAMPERED'}")
        for problem in r.problems:
            print(f"  {problem}")
            bad += 1
        for anchor in r.anchors:
            print(f"  {anchor}")
        for chain, length, head in r.heads[:20]:
            print(f"  head {chain}: {length} rows, {head}")
        if len(r.heads) > 20:
            print(f"  ({len(r.heads) - 20} more chains)")
    return 1 if bad else 0


def _audit_list(args: argparse.Namespace) -> int:
    with _people(args) as (_, _, audit):
        entries = audit.entries(action=args.action, limit=args.limit)
    for e in entries:
        print(f"{e.at:<24} {e.actor or '-':<16} {e.action:<20} {e.target:<24} {e.ip or '-':<15} "
              f"{', '.join(f'{k}={v}' for k, v in e.details.items())}")
    return 0
