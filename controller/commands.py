"""Subcommands that run on the controller machine or talk to its API."""

from __future__ import annotations

import argparse
import os
import sys

DEFAULT_URL = os.environ.get("LOAXA_URL", "http://127.0.0.1:8080")
TOKEN_HELP = "API token (env LOAXA_TOKEN; create one with: loaxa user token NAME)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run broker, controller, web UI and three simulated agents locally")
    p.add_argument("--dir", default="demo-data", help="where the demo keeps its data and logs")
    p.add_argument("--port", type=int, default=8080, help="web UI and API port")
    p.set_defaults(func=_demo)

    p = sub.add_parser("bulletin", help="bulletins: add one from a text file (and schedule it)")
    bsub = p.add_subparsers(dest="bulletin_command", metavar="ACTION", required=True)
    a = bsub.add_parser("add", help="add a bulletin from FILE ('-' for stdin), optionally schedule it")
    a.add_argument("file")
    a.add_argument("--title", default="", help="title (default: the first line)")
    a.add_argument("--at", help="when to play: 'YYYY-MM-DD HH:MM' (Asia/Ho_Chi_Minh) or '+Nm' from now")
    a.add_argument("--targets", default="", help="comma-separated unit or device ids")
    a.add_argument("--priority", default="normal", choices=["normal", "priority", "emergency"])
    a.add_argument("--url", default=DEFAULT_URL, help="controller URL (env LOAXA_URL)")
    a.add_argument("--token", default=os.environ.get("LOAXA_TOKEN", ""), help=TOKEN_HELP)
    a.set_defaults(func=_bulletin_add)

    p = sub.add_parser("logs", help="what played where and when (the playback log)")
    p.add_argument("--device", help="only this device")
    p.add_argument("--broadcast", help="only this broadcast")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--url", default=DEFAULT_URL, help="controller URL (env LOAXA_URL)")
    p.add_argument("--token", default=os.environ.get("LOAXA_TOKEN", ""), help=TOKEN_HELP)
    p.set_defaults(func=_logs)


def _demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from controller.demo import run_demo

    return run_demo(Path(args.dir), args.port)


def parse_at(value: str) -> str:
    """'+5m', '+30s', '+2h' from now, or a local time passed through as written."""
    from datetime import timedelta

    from loaxa.cli import CommandError
    from loaxa.protocol import format_time, utcnow

    if value.startswith("+"):
        units = {"s": 1, "m": 60, "h": 3600}
        try:
            seconds = float(value[1:-1]) * units[value[-1]]
        except (KeyError, ValueError):
            raise CommandError(f"cannot read --at {value!r}; use e.g. +90s, +5m or '2026-11-25 17:00'") from None
        return format_time(utcnow() + timedelta(seconds=seconds))
    return value


def _bulletin_add(args: argparse.Namespace) -> int:
    from controller.api_client import ApiClient, ApiError
    from loaxa.cli import CommandError

    try:
        text = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8").read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {args.file}: {exc}") from None
    api = ApiClient(args.url, token=args.token)
    try:
        bulletin = api.post("/api/bulletins", {"title": args.title, "text": text})
        media = bulletin["media"]
        print(f"bulletin {bulletin['id']}: {bulletin['title']!r}, {media['duration_s']:.1f} s ({media['engine']})")
        if args.at:
            targets = [t.strip() for t in args.targets.split(",") if t.strip()]
            bc = api.post("/api/broadcasts", {"bulletin_id": bulletin["id"], "starts_at": parse_at(args.at),
                                              "targets": targets, "priority": args.priority})
            print(f"broadcast {bc['id']} at {bc['starts_at']} on {len(bc['devices'])} devices: {', '.join(bc['devices'])}")
    except ApiError as exc:
        raise CommandError(str(exc)) from None
    return 0


def _logs(args: argparse.Namespace) -> int:
    from urllib.parse import urlencode

    from controller.api_client import ApiClient, ApiError
    from loaxa.cli import CommandError

    query = {k: v for k, v in (("device", args.device), ("broadcast", args.broadcast), ("limit", args.limit)) if v}
    try:
        rows = ApiClient(args.url, token=args.token).get("/api/playback?" + urlencode(query))
    except ApiError as exc:
        raise CommandError(str(exc)) from None
    print(f"{'recorded (UTC)':<24} {'device':<14} {'event':<11} {'broadcast':<16} {'planned':<24} {'actual start':<24} reason")
    for r in rows:
        print(f"{r['recorded_at']:<24} {r['device_id']:<14} {r['kind']:<11} {r['broadcast_id']:<16} "
              f"{r['planned_at'] or '':<24} {r['actual_start'] or '':<24} {r['reason']}")
    return 0
