"""Subcommands that talk to a running controller over its HTTP API."""

from __future__ import annotations

import argparse
import os
import sys

DEFAULT_URL = os.environ.get("LOAXA_URL", "http://127.0.0.1:8080")
DEFAULT_CAFILE = os.environ.get("LOAXA_CAFILE", "")
CAFILE_HELP = "the deployment's CA certificate (tls/ca.crt) verifying an https:// controller (env LOAXA_CAFILE)"
TOKEN_HELP = "API token (env LOAXA_TOKEN; create one with: loaxa user token NAME)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bulletin", help="bulletins: add one from a text file (and schedule it)")
    bsub = p.add_subparsers(dest="bulletin_command", metavar="ACTION", required=True)
    a = bsub.add_parser("add", help="add a bulletin from FILE ('-' for stdin), optionally schedule it")
    a.add_argument("file")
    a.add_argument("--title", default="", help="title (default: the first line)")
    a.add_argument("--at", help="when to play: 'YYYY-MM-DD HH:MM' (Asia/Ho_Chi_Minh) or '+Nm' from now")
    a.add_argument("--targets", default="", help="comma-separated unit or device ids")
    a.add_argument("--priority", default="normal", choices=["normal", "priority", "emergency"])
    a.add_argument("--approve", action="store_true",
                   help="approve it at once as the token's user (only where the two-person rule is off)")
    a.add_argument("--url", default=DEFAULT_URL, help="controller URL (env LOAXA_URL)")
    a.add_argument("--cafile", default=DEFAULT_CAFILE, help=CAFILE_HELP)
    a.add_argument("--token", default=os.environ.get("LOAXA_TOKEN", ""), help=TOKEN_HELP)
    a.set_defaults(func=_bulletin_add)

    p = sub.add_parser("logs", help="what played where and when (the playback log)")
    p.add_argument("--device", help="only this device")
    p.add_argument("--broadcast", help="only this broadcast")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--url", default=DEFAULT_URL, help="controller URL (env LOAXA_URL)")
    p.add_argument("--cafile", default=DEFAULT_CAFILE, help=CAFILE_HELP)
    p.add_argument("--token", default=os.environ.get("LOAXA_TOKEN", ""), help=TOKEN_HELP)
    p.set_defaults(func=_logs)
    _register_scheduling(sub)


def parse_at(value: str) -> str:
    """'+5m', '+30s', '+2h' from now, or a local time passed through as written."""
    from datetime import timedelta

    from loaxa.cli import CommandError
    from loaxa.wire_time import format_time, utcnow

    if value.startswith("+"):
        units = {"s": 1, "m": 60, "h": 3600}
        try:
            seconds = float(value[1:-1]) * units[value[-1]]
        except (KeyError, ValueError):
            raise CommandError(f"cannot read --at {value!r}; use e.g. +90s, +5m or '2026-11-25 17:00'") from None
        return format_time(utcnow() + timedelta(seconds=seconds))
    return value


def _bulletin_add(args: argparse.Namespace) -> int:
    from controller.cli_http.client import ApiClient, ApiError
    from loaxa.cli import CommandError

    try:
        text = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8").read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {args.file}: {exc}") from None
    api = ApiClient(args.url, token=args.token, cafile=args.cafile)
    try:
        bulletin = api.post("/api/bulletins", {"title": args.title, "text": text})
        media = bulletin["media"]
        print(f"bulletin {bulletin['id']}: {bulletin['title']!r}, {media['duration_s']:.1f} s ({media['engine']})")
        if args.at:
            targets = [t.strip() for t in args.targets.split(",") if t.strip()]
            bc = api.post("/api/broadcasts", {"bulletin_id": bulletin["id"], "starts_at": parse_at(args.at),
                                              "targets": targets, "priority": args.priority})
            print(f"broadcast {bc['id']} at {bc['starts_at']} on {len(bc['devices'])} devices: {', '.join(bc['devices'])}")
            if args.approve:
                bc = api.post(f"/api/broadcasts/{bc['id']}/approve", {"comment": "approved from the command line"})
            print(f"status: {bc['status']}")
    except ApiError as exc:
        raise CommandError(str(exc)) from None
    return 0


def _logs(args: argparse.Namespace) -> int:
    from urllib.parse import urlencode

    from controller.cli_http.client import ApiClient, ApiError
    from loaxa.cli import CommandError

    query = {k: v for k, v in (("device", args.device), ("broadcast", args.broadcast), ("limit", args.limit)) if v}
    try:
        rows = ApiClient(args.url, token=args.token, cafile=args.cafile).get("/api/playback?" + urlencode(query))
    except ApiError as exc:
        raise CommandError(str(exc)) from None
    print(f"{'recorded (UTC)':<24} {'device':<14} {'event':<11} {'broadcast':<16} {'planned':<24} {'actual start':<24} reason")
    for r in rows:
        print(f"{r['recorded_at']:<24} {r['device_id']:<14} {r['kind']:<11} {r['broadcast_id']:<16} "
              f"{r['planned_at'] or '':<24} {r['actual_start'] or '':<24} {r['reason']}")
    return 0


def _register_scheduling(sub: argparse._SubParsersAction) -> None:
    def client_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--url", default=DEFAULT_URL, help="controller URL (env LOAXA_URL)")
        p.add_argument("--cafile", default=DEFAULT_CAFILE, help=CAFILE_HELP)
        p.add_argument("--token", default=os.environ.get("LOAXA_TOKEN", ""), help="API token (env LOAXA_TOKEN)")

    p = sub.add_parser("readiness", help="for the next broadcasts: which devices are ready, not ready or offline")
    p.add_argument("--hours", type=float, default=24.0, help="how far ahead to look (default 24)")
    p.add_argument("--limit", type=int, default=20, help="at most this many broadcast slots")
    p.add_argument("--json", action="store_true", help="print the raw JSON")
    client_args(p)
    p.set_defaults(func=_readiness)

    p = sub.add_parser("broadcast", help="broadcasts: approve, reject or cancel")
    bsub = p.add_subparsers(dest="broadcast_command", metavar="ACTION", required=True)
    for action in ("approve", "reject"):
        a = bsub.add_parser(action, help=f"{action} a broadcast waiting for approval (as the token's user)")
        a.add_argument("broadcast_id")
        a.add_argument("--comment", default="", help="reason or remark (recorded with the approver)")
        client_args(a)
        a.set_defaults(func=_broadcast_decide, action=action)
    a = bsub.add_parser("cancel", help="cancel a broadcast; devices drop it at the next plan publish")
    a.add_argument("broadcast_id")
    client_args(a)
    a.set_defaults(func=_broadcast_decide, action="cancel")

    p = sub.add_parser("emergency", help="play a bulletin NOW on the targets, interrupting whatever plays")
    p.add_argument("targets", help="comma-separated unit or device ids")
    p.add_argument("--text", help="text to read (rendered at once)")
    p.add_argument("--bulletin", help="an existing bulletin id instead of --text")
    p.add_argument("--reason", default="", help="why (recorded)")
    client_args(p)
    p.set_defaults(func=_emergency)


def _api_call(args: argparse.Namespace, method: str, path: str, data: object = None) -> object:
    from controller.cli_http.client import ApiClient, ApiError
    from loaxa.cli import CommandError

    try:
        return ApiClient(args.url, token=args.token, cafile=args.cafile).request(method, path, data)
    except ApiError as exc:
        raise CommandError(str(exc)) from None


def _readiness(args: argparse.Namespace) -> int:
    import json

    from loaxa.local_time import to_local
    from loaxa.wire_time import parse_time

    rows = _api_call(args, "GET", f"/api/readiness?hours={args.hours}&limit={args.limit}")
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print(f"no broadcasts in the next {args.hours:g} h")
    for r in rows:
        when = to_local(parse_time(r["starts_at"], "starts_at"))
        c = r["counts"]
        print(f"{when:%d/%m %H:%M:%S}  {r['priority']:<9} {r['title'][:40]:<40} "
              f"ready {c['ready']}  not ready {c['not_ready']}  offline {c['offline']}")
        for d in r["not_ready"]:
            print(f"    not ready  {d['device_id']}: {d['reason']} ({d['detail']})")
        for d in r["offline"]:
            print(f"    offline    {d}")
        for s in r["skipped"]:
            print(f"    skipped    {s['device_id']}: {s['code']}")
    return 1 if any(r["not_ready"] or r["offline"] for r in rows) else 0


def _broadcast_decide(args: argparse.Namespace) -> int:
    if args.action == "cancel":
        bc = _api_call(args, "POST", f"/api/broadcasts/{args.broadcast_id}/cancel", {})
    else:
        bc = _api_call(args, "POST", f"/api/broadcasts/{args.broadcast_id}/{args.action}", {"comment": args.comment})
    print(f"broadcast {bc['id']}: {bc['status']}")
    return 0


def _emergency(args: argparse.Namespace) -> int:
    from loaxa.cli import CommandError

    if bool(args.text) == bool(args.bulletin):
        raise CommandError("give exactly one of --text or --bulletin")
    data = {"targets": [t.strip() for t in args.targets.split(",") if t.strip()], "reason": args.reason}
    data.update({"text": args.text} if args.text else {"bulletin_id": args.bulletin})
    em = _api_call(args, "POST", "/api/emergency", data)
    print(f"emergency {em['id']} sent on {', '.join(em['topics'])} to {len(em['devices'])} devices")
    return 0
