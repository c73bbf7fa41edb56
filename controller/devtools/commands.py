"""``loaxa demo``: a broker, a controller with its web UI and three simulated agents on this machine.

The demo is for trying the product and showing it; it starts the private broker and the
agents of :mod:`controller.devtools`, so its command lives here and nothing in production
imports it.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run broker, controller, web UI and three simulated agents locally")
    p.add_argument("--dir", default="demo-data", help="where the demo keeps its data and logs")
    p.add_argument("--port", type=int, default=8080, help="web UI and API port")
    p.add_argument("--outage-after", type=float, default=90.0, metavar="S",
                   help="switch one speaker off on purpose this many seconds after the start, to show a dead one (0: never)")
    p.add_argument("--outage-for", type=float, default=150.0, metavar="S", help="how long that speaker stays off")
    p.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from controller.devtools.demo import run_demo

    return run_demo(Path(args.dir), args.port, args.outage_after, args.outage_for)
