"""The ``loaxa agent`` subcommand: runs the edge agent on a speaker pole."""

from __future__ import annotations

import argparse

from loaxa.cli import reported, set_handler


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("agent", help="run the edge agent of one speaker cluster")
    set_handler(p, run_agent, "agent")
    actions = p.add_subparsers(dest="agent_command", metavar="ACTION")
    e = actions.add_parser("enroll", help="enroll this device with a one-time code from the controller")
    e.add_argument("controller_url", help="the controller, e.g. https://controller.example:8443")
    e.add_argument("code", help="the one-time code printed by 'loaxa device add'")
    e.add_argument("--config", "-c", dest="enroll_config", default="/etc/loaxa/agent.toml",
                   help="agent config file to write (kept settings are preserved; default /etc/loaxa/agent.toml)")
    e.add_argument("--user", help="make the config owned by this user (the agent's, e.g. loaxa-agent; needs root)")
    e.add_argument("--kid", help="refuse unless the controller's signing key has this id (printed by 'loaxa device add')")
    e.add_argument("--cafile", help="the deployment's CA certificate (the controller's tls/ca.crt) verifying an https:// "
                                    "controller URL; kept beside the config for media downloads")
    e.set_defaults(func=run_enroll)


def plaintext_warnings(controller_url: str, broker_tls: bool, broker_host: str) -> list[str]:
    """What of this pole's link to the controller travels in clear beyond loopback."""
    from urllib.parse import urlsplit

    local = ("127.0.0.1", "::1", "localhost")
    out = []
    url = urlsplit(controller_url)
    if url.scheme != "https" and url.hostname not in local:
        out.append(f"{controller_url} is plain HTTP: this device's password crossed the network in clear, "
                   "and media downloads will send it again; use the controller's https:// address")
    if not broker_tls and broker_host not in local:
        out.append(f"the broker at {broker_host} is reached without TLS")
    return out


def run_enroll(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from edge_agent.enroll import EnrollError, enroll

    with reported(EnrollError, OSError):
        config = enroll(args.controller_url, args.code, Path(args.enroll_config), user=args.user,
                        expect_kid=args.kid, cafile=args.cafile)
    tls = " (TLS)" if config.mqtt.tls_ca else ""
    for warning in plaintext_warnings(args.controller_url, bool(config.mqtt.tls_ca), config.mqtt.host):
        print(f"WARNING: {warning}", file=sys.stderr)
    print(f"enrolled as {config.device_id}; broker {config.mqtt.host}:{config.mqtt.port}{tls}; "
          f"config written to {args.enroll_config} (mode 0600)")
    return 0


def run_agent(args: argparse.Namespace) -> int:
    import signal

    from edge_agent.agent import Agent, AgentError
    from edge_agent.config import AgentConfig
    from loaxa.cli import load_settings

    config = load_settings(AgentConfig, args.config)
    with reported(AgentError):
        agent = Agent(config)

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
