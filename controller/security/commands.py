"""Device security subcommands, run on the controller machine against its config and data dir.

``loaxa device add|code|revoke|list``, ``loaxa broker config|certs``, ``loaxa keys
rotate|show`` and ``loaxa emergency-stop``.  Access to the controller's data directory
is what authorises them (see ``controller/security/operator_session.py``).
"""

from __future__ import annotations

import argparse
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from loaxa.cli import CommandError, reported, set_handler

if TYPE_CHECKING:
    from controller.people.actor import Actor
    from controller.config import ControllerConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("device", help="speaker clusters: add one with an enrollment code, new code, revoke, list")
    dsub = p.add_subparsers(dest="device_command", metavar="ACTION", required=True)
    a = dsub.add_parser("add", help="register a device and print its one-time enrollment code")
    a.add_argument("--unit", required=True, help="the unit (village, hamlet …) the device belongs to")
    a.add_argument("--name", required=True, help="a human name, e.g. 'Cụm loa chợ Thôn Đông'")
    a.add_argument("--id", help="device id (default: made from the name)")
    set_handler(a, _device_add, "controller")
    a = dsub.add_parser("code", help="a new one-time enrollment code for an existing device (re-install, after revoke)")
    a.add_argument("device_id")
    set_handler(a, _device_code, "controller")
    a = dsub.add_parser("revoke", help="remove a device's credentials; the broker is reloaded")
    a.add_argument("device_id")
    set_handler(a, _device_revoke, "controller")
    a = dsub.add_parser("list", help="devices with their enrollment status")
    set_handler(a, _device_list, "controller")

    p = sub.add_parser("broker", help="the mosquitto configuration: accounts, ACL, TLS certificates")
    bsub = p.add_subparsers(dest="broker_command", metavar="ACTION", required=True)
    a = bsub.add_parser("config", help="write mosquitto.conf, the password file and the ACL from the database")
    a.add_argument("--new-controller-password", action="store_true", help="replace the controller's broker password")
    set_handler(a, _broker_config, "controller")
    a = bsub.add_parser("certs", help="create the CA (once) and issue the broker's TLS certificate")
    a.add_argument("--host", action="append", default=[], help="a host name or IP devices use for the broker (repeat)")
    set_handler(a, _broker_certs, "controller")
    a = bsub.add_parser("commune", help="the broker tree: commune brokers bridged to this (province) broker")
    csub = a.add_subparsers(dest="commune_command", metavar="ACTION", required=True)
    c = csub.add_parser("add", help="declare a commune (or cluster group) broker and issue its bridge account")
    c.add_argument("broker_id", help="a short id, e.g. xa-dong-son")
    c.add_argument("--unit", action="append", required=True, help="a unit whose devices use this broker (repeat)")
    c.add_argument("--host", required=True, help="the host name or address devices use to reach this broker")
    c.add_argument("--port", type=int, default=8883, help="its TLS device port (default 8883)")
    c.add_argument("--province-address", default="", help="host:port its bridge dials (default: this broker's TLS address)")
    c.add_argument("--name", default="", help="a human name")
    set_handler(c, _commune_add, "controller")
    c = csub.add_parser("list", help="commune brokers, their units and whether their bridge is up")
    set_handler(c, _commune_list, "controller")
    c = csub.add_parser("remove", help="forget a commune broker (its devices go back to this broker)")
    c.add_argument("broker_id")
    set_handler(c, _commune_remove, "controller")

    p = sub.add_parser("keys", help="the controller's signing key: show it, rotate it")
    ksub = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    a = ksub.add_parser("rotate", help="announce a new signing key to every device (signed rollover), then use it")
    a.add_argument("--force", action="store_true", help="rotate even if some devices have not confirmed the last one")
    set_handler(a, _keys_rotate, "controller")
    a = ksub.add_parser("show", help="the current key id and public key")
    set_handler(a, _keys_show, "controller")

    p = sub.add_parser("emergency-stop", help="kill switch: stop every speaker of a unit now and block non-emergency plays")
    p.add_argument("--unit", required=True, help="the unit whose whole subtree goes quiet")
    p.add_argument("--reason", default="", help="why (recorded in the audit trail)")
    p.add_argument("--lift", action="store_true", help="lift the kill switch instead")
    p.add_argument("--by", default="", help="who (default: the operating system user)")
    set_handler(p, _emergency_stop, "controller")


def _operator(by: str = "") -> Actor:
    """The operator at this machine's shell (``cli:<login>``), or the name they give with ``--by``."""
    import getpass

    from controller.people.actor import Actor

    return Actor.system(by or f"cli:{getpass.getuser()}")


def _refused() -> AbstractContextManager[None]:
    """The controller's refusals (bad input, an operation it cannot do now), shown to the user."""
    from controller.errors import InputError
    from controller.security.operator_session import OperatorError

    return reported(InputError, OperatorError)


def _refuse_plaintext(config) -> None:
    """A device's password must not cross the network in clear: refuse, or warn loudly when allowed."""
    import sys

    from controller.security.broker_config import PlaintextRefused, check_plaintext

    with reported(PlaintextRefused):
        for warning in check_plaintext(config):
            print(warning, file=sys.stderr)


def _print_enroll_line(config: ControllerConfig, code: str, kid: str) -> None:
    """Over HTTPS with the deployment's certificate, the pole verifies the controller against its CA: say which file."""
    from controller.security.broker_config import BrokerFiles, broker_dir

    ca = BrokerFiles(broker_dir(config)).ca_cert
    cafile = f" --cafile {ca.name}" if config.public_url.startswith("https://") and not config.http.tls_cert else ""
    print(f"on the device:   loaxa agent enroll {config.public_url} {code}{cafile} --kid {kid}")
    if cafile:
        print(f"                 (copy {ca} onto the device first: the pole verifies the controller with it)")


def _device_add(args: argparse.Namespace) -> int:
    from controller.config import load_for_command
    from controller.security.operator_session import operator_session
    from loaxa.wire_time import format_time

    config = load_for_command(args.config)
    _refuse_plaintext(config)
    with operator_session(config) as security:
        with _refused():
            device, code, expires = security.add_device(args.unit, args.name, args.id, _operator())
        kid = security.keyring.kid
    print(f"device {device.id} ({device.name}) in {device.unit_id}")
    print(f"enrollment code: {code}   (one use, expires {format_time(expires)})")
    _print_enroll_line(config, code, kid)
    return 0


def _device_code(args: argparse.Namespace) -> int:
    from controller.config import load_for_command
    from controller.security.operator_session import operator_session
    from loaxa.wire_time import format_time

    config = load_for_command(args.config)
    _refuse_plaintext(config)
    with operator_session(config) as security:
        with _refused():
            code, expires = security.new_code(args.device_id, _operator())
        kid = security.keyring.kid
    print(f"enrollment code for {args.device_id}: {code}   (one use, expires {format_time(expires)})")
    _print_enroll_line(config, code, kid)
    return 0


def _device_revoke(args: argparse.Namespace) -> int:
    from controller.config import load_for_command
    from controller.security.operator_session import operator_session

    with operator_session(load_for_command(args.config)) as security:
        with _refused():
            result = security.revoke(args.device_id, _operator())
    print(f"{args.device_id}: credentials {'removed' if result.revoked else 'were already absent'}")
    if not result.broker_reloaded:
        print("the broker was not reloaded: run 'loaxa broker config' and reload mosquitto (SIGHUP) to make it effective")
    return 0


def _device_list(args: argparse.Namespace) -> int:
    from controller.config import load_for_command
    from controller.security.operator_session import operator_session

    with operator_session(load_for_command(args.config)) as security:
        rows = [(d.id, d.unit_id, security.credentials.status(d.id), d.name)
                for d in security.registry.devices()]
    print(f"{'device':<24} {'unit':<20} {'enrollment':<13} name")
    for r in rows:
        print(f"{r[0]:<24} {r[1]:<20} {r[2]:<13} {r[3]}")
    return 0


def _broker_config(args: argparse.Namespace) -> int:
    import sys

    from controller.security import broker_config
    from controller.config import load_for_command
    from controller.db import Database

    config = load_for_command(args.config)
    db = Database(config.db_path)
    try:
        with reported(broker_config.PlaintextRefused):
            files = broker_config.generate(config, db, new_controller_password=args.new_controller_password)
    finally:
        db.close()
    for warning in broker_config.check_plaintext(config):
        print(warning, file=sys.stderr)
    print(f"wrote {files.conf}, {files.passwd} and {files.acl}")
    if config.broker.tls_port:
        print(f"devices connect over TLS on port {config.broker.tls_port} (certificate {files.server_cert}; "
              "'loaxa broker certs --host NAME' adds names)")
    print(f"start the broker with: mosquitto -c {files.conf}")
    print(f"the controller connects as '{config.broker.controller_username}' "
          f"(password in {broker_config.controller_secret_path(config)})")
    return 0


def _commune_add(args: argparse.Namespace) -> int:
    from controller.config import load_for_command
    from controller.db import Database
    from controller.devices.broker_tree import BrokerTree

    config = load_for_command(args.config)
    db = Database(config.db_path)
    try:
        with _refused():
            b = BrokerTree(db).add(config, args.broker_id, args.unit, args.host, args.port, args.province_address,
                                   args.name, _operator())
    finally:
        db.close()
    print(f"commune broker {b.id} for {', '.join(b.units)}: devices connect to {b.device_host}:{b.device_port} (TLS)")
    print("run 'loaxa broker config', install broker/communes/" + b.id + "/ on that machine and start mosquitto there")
    return 0


def _commune_list(args: argparse.Namespace) -> int:
    from controller.config import load_for_command
    from controller.db import Database
    from controller.devices.broker_tree import BrokerTree

    db = Database(load_for_command(args.config).db_path)
    try:
        tree = BrokerTree(db)
        rows = [(b, len(tree.devices_of().get(b.id, []))) for b in tree.all()]
    finally:
        db.close()
    print(f"{'broker':<20} {'devices':>7} {'link':<8} {'address':<28} units")
    for b, n in rows:
        link = {True: "up", False: "DOWN", None: "unknown"}[b.link_up]
        print(f"{b.id:<20} {n:>7} {link:<8} {b.device_host + ':' + str(b.device_port):<28} {', '.join(b.units)}")
    return 0


def _commune_remove(args: argparse.Namespace) -> int:
    from controller.config import load_for_command
    from controller.db import Database
    from controller.devices.broker_tree import BrokerTree

    db = Database(load_for_command(args.config).db_path)
    try:
        with _refused():
            BrokerTree(db).remove(args.broker_id, _operator())
    finally:
        db.close()
    print(f"commune broker {args.broker_id} removed; run 'loaxa broker config' and re-enroll its devices")
    return 0


def _broker_certs(args: argparse.Namespace) -> int:
    from controller.security import broker_config
    from controller.security.certs import issue_server_cert
    from controller.config import load_for_command

    config = load_for_command(args.config)
    hosts = broker_config.cert_hosts(config, args.host)
    files = broker_config.BrokerFiles(broker_config.broker_dir(config))
    with reported(ValueError):
        tls = issue_server_cert(files.tls_dir, hosts)
    print(f"CA {tls.ca_cert} (devices receive it at enrollment); broker certificate {tls.server_cert} "
          f"for {', '.join(dict.fromkeys(hosts))}")
    if not config.broker.tls_port:
        print("set [broker] tls_port (e.g. 8883) and run 'loaxa broker config' to add the TLS listener")
    return 0


def _keys_rotate(args: argparse.Namespace) -> int:
    from controller.config import load_for_command
    from controller.security.operator_session import operator_session

    with operator_session(load_for_command(args.config), connect=True) as security:
        try:
            with _refused():
                rotation = security.rotate_keys(_operator(), force=args.force)
        except RuntimeError as exc:
            raise CommandError(f"{exc}; use --force to rotate anyway") from None
    print(f"rollover #{rotation.seq} published: signing key {rotation.retired_kid} retired, now {rotation.next_kid}")
    return 0


def _keys_show(args: argparse.Namespace) -> int:
    from controller.config import load_for_command
    from controller.security.keyring import Keyring
    from loaxa import protocol

    keyring = Keyring(load_for_command(args.config).key_path)
    print(f"kid {keyring.kid}\npublic key {protocol.public_key_to_text(keyring.public_key)}")
    return 0


def _emergency_stop(args: argparse.Namespace) -> int:
    from controller.config import load_for_command
    from controller.security.operator_session import operator_session

    with operator_session(load_for_command(args.config), connect=True) as security:
        switches = security.kill_switches
        if args.lift:
            with _refused():
                result = switches.lift(args.unit, _operator(args.by))
            print(f"kill switch lifted on {args.unit}; {len(result.devices)} device(s) may play again")
        else:
            with _refused():
                result = switches.engage(args.unit, _operator(args.by), args.reason)
            print(f"kill switch engaged on {args.unit}: {len(result.devices)} device(s) stopped; "
                  f"lift with: loaxa emergency-stop --unit {args.unit} --lift")
    return 0
