"""The ``loaxa controller`` subcommand: runs the controller with its web UI and API."""

from __future__ import annotations

import argparse

from loaxa.cli import set_handler


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("controller", help="run the controller: database, jobs, MQTT, web UI and API")
    set_handler(p, run_controller, "controller")


def run_controller(args: argparse.Namespace) -> int:
    from controller.config import load_for_command
    from web.serve import serve

    config = load_for_command(args.config)
    serve(config)
    return 0
