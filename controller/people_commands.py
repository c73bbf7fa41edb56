"""``loaxa user`` and ``loaxa audit``: accounts and the tamper check, run on the controller machine.

They open the controller's database directly (SQLite allows it while the controller runs),
so the first administrator can be created before anyone can sign in: there is no default
password.
"""

from __future__ import annotations

import argparse
import sys


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
    _config_arg(a)
    a.set_defaults(func=_user_add)

    t = usub.add_parser("token", help="create an API token for a user (printed once)")
    t.add_argument("username")
    t.add_argument("--name", default="", help="what the token is for")
    _config_arg(t)
    t.set_defaults(func=_user_token)

    r = usub.add_parser("revoke-tokens", help="revoke a user's API tokens (all, or those with --name)")
    r.add_argument("username")
    r.add_argument("--name", default=None, help="only tokens created with this --name")
    _config_arg(r)
    r.set_defaults(func=_user_revoke_tokens)

    w = usub.add_parser("passwd", help="set a user's password (asked for, or read from stdin); ends their sessions")
    w.add_argument("username")
    _config_arg(w)
    w.set_defaults(func=_user_passwd)

    d = usub.add_parser("disable", help="disable a user: sign-ins, sessions and tokens stop working")
    d.add_argument("username")
    _config_arg(d)
    d.set_defaults(func=_user_disable)

    ls = usub.add_parser("list", help="list active users")
    _config_arg(ls)
    ls.set_defaults(func=_user_list)

    p = sub.add_parser("audit", help="the audit trail: verify the hash chains, show recent entries")
    asub = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    v = asub.add_parser("verify", help="check the audit trail and playback events for edited, inserted or deleted rows")
    _config_arg(v)
    v.set_defaults(func=_audit_verify)
    s = asub.add_parser("list", help="recent audit entries, newest first")
    s.add_argument("--limit", type=int, default=50)
    s.add_argument("--action", help="only this action (e.g. login_failed)")
    _config_arg(s)
    s.set_defaults(func=_audit_list)


def _config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", help="the controller's TOML config (default: built-in defaults + LOAXA_* env)")


def _open(args: argparse.Namespace):
    """The controller's database and settings, for a command run beside it."""
    from controller.audit import AuditTrail
    from controller.config import ControllerConfig
    from controller.db import Database
    from controller.users import Users
    from loaxa.cli import load_settings

    config = load_settings(ControllerConfig, args.config)
    db = Database(config.db_path)
    return db, Users(db, config.people), AuditTrail(db)


def _read_password(prompt: str = "Password") -> str:
    import getpass

    from loaxa.cli import CommandError

    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise CommandError("no password on stdin")
        return line.rstrip("\r\n")
    first = getpass.getpass(f"{prompt}: ")
    if getpass.getpass(f"{prompt} (again): ") != first:
        raise CommandError("the passwords differ")
    return first


def _fail(exc: Exception):
    from loaxa.cli import CommandError

    return CommandError(getattr(exc, "message", str(exc)))


def _user_add(args: argparse.Namespace) -> int:
    from controller.errors import InputError
    from controller.users import WHOLE_TREE

    db, users, audit = _open(args)
    try:
        if args.unit != WHOLE_TREE and args.unit_name:
            with db.tx() as conn:
                exists = conn["units"].count_where("id = ?", [args.unit])
            if not exists:
                from controller.registry import Registry

                Registry(db).add_unit(args.unit, args.unit_name, None, "")
                audit.record("cli", "unit_added", args.unit, {"parent_id": None})
        password = _read_password()
        user = users.add(args.username, password, args.role, args.unit, args.name)
        audit.record("cli", "user_added", user.username, {"role": user.role, "unit_id": args.unit})
        print(f"user {user.username}: {user.role} of {args.unit}")
        if args.token:
            print(users.create_token(user.username, "cli"))
            audit.record("cli", "token_created", user.username, {"name": "cli"})
    except InputError as exc:
        raise _fail(exc) from None
    finally:
        db.close()
    return 0


def _user_token(args: argparse.Namespace) -> int:
    from controller.errors import InputError

    db, users, audit = _open(args)
    try:
        print(users.create_token(args.username, args.name))
        audit.record("cli", "token_created", args.username, {"name": args.name})
    except InputError as exc:
        raise _fail(exc) from None
    finally:
        db.close()
    return 0


def _user_revoke_tokens(args: argparse.Namespace) -> int:
    from controller.errors import InputError

    db, users, audit = _open(args)
    try:
        n = users.revoke_tokens(args.username, args.name)
        audit.record("cli", "tokens_revoked", args.username, {"name": args.name, "count": n})
    except InputError as exc:
        raise _fail(exc) from None
    finally:
        db.close()
    print(f"{n} token(s) of {args.username} revoked")
    return 0


def _user_passwd(args: argparse.Namespace) -> int:
    from controller.errors import InputError

    db, users, audit = _open(args)
    try:
        users.set_password(args.username, _read_password("New password"))
        audit.record("cli", "password_changed", args.username)
    except InputError as exc:
        raise _fail(exc) from None
    finally:
        db.close()
    print(f"password of {args.username} changed; their sessions have ended")
    return 0


def _user_disable(args: argparse.Namespace) -> int:
    from controller.errors import InputError

    db, users, audit = _open(args)
    try:
        users.disable(args.username)
        audit.record("cli", "user_disabled", args.username)
    except InputError as exc:
        raise _fail(exc) from None
    finally:
        db.close()
    print(f"{args.username} disabled")
    return 0


def _user_list(args: argparse.Namespace) -> int:
    db, users, _ = _open(args)
    try:
        for u in users.list():
            d = u.to_dict()
            print(f"{d['username']:<24} {d['role']:<9} {d['unit_id']:<20} {d['display_name']}")
    finally:
        db.close()
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    from controller.audit import verify_all

    db, _, _ = _open(args)
    try:
        reports = verify_all(db)
    finally:
        db.close()
    bad = 0
    for r in reports:
        print(f"{r.table}: {r.rows} rows in {r.chains} chain(s): {'intact' if r.ok else 'TAMPERED'}")
        for problem in r.problems:
            print(f"  {problem}")
            bad += 1
        for chain, length, head in r.heads[:20]:
            print(f"  head {chain}: {length} rows, {head}")
        if len(r.heads) > 20:
            print(f"  ({len(r.heads) - 20} more chains)")
    return 1 if bad else 0


def _audit_list(args: argparse.Namespace) -> int:
    db, _, audit = _open(args)
    try:
        entries = audit.entries(action=args.action, limit=args.limit)
    finally:
        db.close()
    for e in entries:
        print(f"{e.at:<24} {e.actor or '-':<16} {e.action:<20} {e.target:<24} {e.ip or '-':<15} "
              f"{', '.join(f'{k}={v}' for k, v in e.details.items())}")
    return 0
