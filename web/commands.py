"""The ``loaxa controller`` subcommand: runs the controller with its web UI and API."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("controller", help="run the controller: database, jobs, MQTT, web UI and API")
    p.add_argument("--config", "-c", help="TOML config file (default: built-in defaults + LOAXA_* env)")
    p.set_defaults(func=run_controller)


def run_controller(args: argparse.Namespace) -> int:
    from controller.config import ControllerConfig
    from loaxa.cli import load_settings
    from web.serve import serve

    config = load_settings(ControllerConfig, args.config)
    serve(config)
    return 0
