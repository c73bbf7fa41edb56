"""The ``loaxa agent`` subcommand: runs the edge agent on a speaker pole."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("agent", help="run the edge agent of one speaker cluster")
    p.add_argument("--config", "-c", help="TOML config file (default: built-in defaults + LOAXA_* env)")
    p.set_defaults(func=run_agent)


def run_agent(args: argparse.Namespace) -> int:
    import signal

    from edge_agent.agent import Agent, AgentError
    from edge_agent.config import AgentConfig
    from loaxa.cli import CommandError
    from loaxa.config import ConfigError, load_config

    try:
        config = load_config(AgentConfig, args.config)
        agent = Agent(config)
    except (ConfigError, AgentError) as exc:
        raise CommandError(str(exc)) from None

    def stop(signum, frame) -> None:
        agent.request_stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    agent.start()
    try:
        agent.wait()
    finally:
        agent.stop()
    return 0
