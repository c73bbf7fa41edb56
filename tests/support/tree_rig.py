"""A province broker and two commune brokers bridged to it, all running the configs ``loaxa broker config`` writes.

``tinh`` → ``xa-a`` (village ``thon-a``) and ``xa-b`` (``thon-b``), as in :mod:`support.tree`.
Each commune broker's bridge dials the province broker through its own
:class:`~support.tcp_proxy.TcpProxy`, so a test can cut, pause or flap one commune's link.
Devices and their enrollment go through the operator's commands and the controller's
enrollment endpoint, so every agent is told its commune broker's address by enrollment.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Iterator

import pytest

from controller.devices.credentials import Credentials
from controller.devices.registry import Registry
from controller.people.actor import Actor
from controller.security.operator_session import operator_session
from controller.security import broker_config
from controller.devtools.broker_runner import Broker, free_port
from controller.devices.broker_tree import BrokerTree
from controller.security import commune_config
from controller.security.commune_config import commune_files
from loaxa import protocol
from loaxa.wire_time import format_time
from support.harness import SPEECH_ONLY_AUDIO, AgentHandle, ControllerHandle, _env, loaxa, wait_for
from support.secure_rig import Client, SecureRig
from support.tcp_proxy import TcpProxy
from support.tree import UNITS, seed_registry

COMMUNES = {"xa-a": "thon-a", "xa-b": "thon-b"}


class TreeRig(SecureRig):
    """The controller config of a province with commune brokers; brokers, proxies and agents on loopback."""

    def __init__(self, root: Path, plans: str = "", security: str = "", communes: dict[str, str] | None = None,
                 sections: str = "", audio: str = 'engine = "espeak"'):
        """``communes``: commune id -> its one village; by default the two of :mod:`support.tree`.
        ``sections``: whole further sections of the controller's config (``[streaming]`` …)."""
        super().__init__(root, tls=True, plans=plans, security=security, sections=sections, audio=audio)
        self.commune_villages = communes or COMMUNES
        self.proxies: dict[str, TcpProxy] = {}
        self.communes: dict[str, Broker] = {}
        self.codes: dict[str, str] = {}

    def build(self, devices: dict[str, str]) -> None:
        """Units, devices (device id -> village), the commune brokers and every generated file."""
        db = self.db()
        try:
            if self.commune_villages == COMMUNES:
                seed_registry(Registry(db), devices=False)
                assert [u.id for u in UNITS if u.level == "commune"] == list(COMMUNES)
            else:
                registry = Registry(db)
                registry.add_unit("tinh", "Tỉnh Thử", None, "province")
                for commune, village in self.commune_villages.items():
                    registry.add_unit(commune, f"Xã {commune}", "tinh", "commune")
                    registry.add_unit(village, f"Thôn {village}", commune, "village")
        finally:
            db.close()
        with operator_session(self.config) as security:  # what 'loaxa device add' runs, in this process
            for device_id, village in devices.items():
                _device, self.codes[device_id], _expires = security.add_device(village, f"Cụm loa {device_id}",
                                                                               device_id, Actor.system("test"))
            self.kid = security.keyring.kid
        db = self.db()
        try:
            tree = BrokerTree(db)
            for commune in self.commune_villages:
                self.proxies[commune] = TcpProxy("localhost", self.tls_port)
                tree.add(self.config, commune, [commune], "localhost", free_port(),
                         f"localhost:{self.proxies[commune].port}", actor="test")
            broker_config.generate(self.config, db)  # what 'loaxa broker config' runs
        finally:
            db.close()

    def start_commune(self, commune: str) -> Broker:
        """mosquitto running the commune's generated conf (the test user stays; see start_generated_broker)."""
        db = self.db()
        try:
            port = BrokerTree(db).get(commune).device_port
        finally:
            db.close()
        files = commune_files(self.config, commune)
        conf = files.conf.read_text().replace(f"\nuser {self.config.broker.run_as}\n", "\n")
        broker = Broker(self.root / f"mq-{commune}", port=port, listener="# the generated configuration follows",
                        extra_config=conf)
        broker.host = "localhost"
        self.communes[commune] = broker.start()
        return broker

    def start_all(self) -> None:
        self.start_generated_broker()
        for commune in self.commune_villages:
            self.start_commune(commune)
        self.wait_links({c: True for c in self.commune_villages})

    def link(self, commune: str) -> bool | None:
        db = self.db()
        try:
            return BrokerTree(db).get(commune).link_up
        finally:
            db.close()

    def wait_links(self, expected: dict[str, bool], timeout: float = 60) -> None:
        """Until the controller's database shows each commune's bridge as expected (needs a running controller)."""
        if not any(h.name == "controller" and h.alive for h in self.handles):
            return
        wait_for(lambda: all(self.link(c) is up for c, up in expected.items()), timeout=timeout,
                 what=f"bridge links {expected}")

    def tree_agent(self, device_id: str, extra_toml: str = "") -> AgentHandle:
        """Enroll the pole (it learns its commune broker), reload that broker's accounts, start the agent."""
        data_dir = self.root / "agents" / device_id
        cfg = self.root / f"agent-{device_id}.toml"
        cfg.write_text(f'data_dir = "{data_dir}"\nstate_interval_s = 10\n\n[player]\nbackend = "file"\n\n'
                       '[relay]\npin = "GPIO17"\npin_factory = "mock"\n\n[clock]\nntp_server = ""\nuse_chrony = false\n'
                       + extra_toml)
        self.enroll(self.codes[device_id], cfg, kid=self.kid)
        for broker in self.communes.values():
            broker.reload()  # in the field: the regenerated passwd and acl installed there, then SIGHUP
        h = AgentHandle(device_id, loaxa("agent", "-c", str(cfg)), self.root / f"agent-{device_id}.log", _env(),
                        device_id=device_id, data_dir=data_dir)
        self.handles.append(h)
        h.start()
        return h

    def close(self) -> None:
        super().close()
        for broker in self.communes.values():
            broker.stop()
        for proxy in self.proxies.values():
            proxy.close()


def idle_pole_watch(rig: TreeRig, device_id: str, commune: str) -> Client:
    """A pole with credentials but no agent, listening to its own plan topic on its commune broker."""
    db = rig.db()
    try:
        user, password = Credentials(db).issue_device(device_id)
        commune_config.write_access(rig.config, db)
    finally:
        db.close()
    rig.communes[commune].reload()
    watch = wait_for(lambda: (c := Client(rig.communes[commune].port, user, password, client_id=user, host="localhost",
                                          tls_ca=rig.files.ca_cert)).accepted and c, timeout=20,
                     what="the idle pole accepted by its commune broker")
    watch.subscribe(protocol.plan_topic(device_id))
    return watch


def bulletin(ctl, text: str) -> dict:
    return ctl.api.post("/api/bulletins", {"title": text[:30], "text": text})


def broadcast(ctl, text: str | dict, start, device: str) -> dict:
    """Schedule a bulletin (made from ``text`` now, or given) on one device (auto-approved in these rigs)."""
    b = bulletin(ctl, text) if isinstance(text, str) else text
    bc = ctl.api.post("/api/broadcasts", {"bulletin_id": b["id"], "starts_at": format_time(start), "targets": [device]})
    assert bc["status"] == "approved", bc
    return bc


def planned(agent, bc: dict) -> bool:
    return any(p.get("broadcast_id") == bc["id"] for p in agent_plan_items(agent))


def agent_plan_items(agent) -> list[dict]:
    try:
        with agent.db() as conn:
            row = conn.execute("SELECT payload FROM plan").fetchone()
    except sqlite3.OperationalError:
        return []
    return json.loads(row[0])["body"]["items"] if row else []


def issued_seqs(agent) -> int:
    """How many events the agent ever put in its outbox (AUTOINCREMENT keeps the last number given)."""
    with agent.db() as conn:
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
    return row[0] if row else 0


def assert_every_event_once(ctl, agent) -> int:
    """0 lost, 0 duplicated: the database holds seq 1..N of the agent's events exactly once each."""
    wait_for(lambda: agent.outbox_size() == 0, timeout=60, what=f"{agent.device_id}'s outbox drained by acks")
    with ctl.db() as conn:
        seqs = [r[0] for r in conn.execute("SELECT seq FROM playback_events WHERE device_id = ? ORDER BY seq",
                                           [agent.device_id])]
    assert seqs == list(range(1, issued_seqs(agent) + 1)), seqs
    return len(seqs)


def started_province(root: Path,
                     audio: str = 'engine = "espeak"') -> tuple[TreeRig, ControllerHandle, dict[str, AgentHandle]]:
    """The tree, the controller and one running pole per commune (everything stopped again if that fails)."""
    rig = TreeRig(root, audio=audio)
    try:
        rig.build({"loa-a": "thon-a", "loa-b": "thon-b"})
        rig.start_all()
        ctl = rig.controller()
        rig.wait_links({"xa-a": True, "xa-b": True})
        agents = {d: rig.tree_agent(d) for d in ("loa-a", "loa-b")}
        for d in agents:
            wait_for(lambda: ctl.api.get(f"/api/devices/{d}")["online"], timeout=60, what=f"{d} online")
    except BaseException:
        rig.close()
        raise
    return rig, ctl, agents


@pytest.fixture
def province(tmp_path: Path) -> Iterator[tuple[TreeRig, ControllerHandle, dict[str, AgentHandle]]]:
    """The fault tests' province: the tree running, the controller, one pole per commune (tests/province/conftest.py).

    Its bulletins are speech without chimes: the fault tests wait for plays to end, not for how they sound."""
    rig, ctl, agents = started_province(tmp_path, audio=SPEECH_ONLY_AUDIO)
    yield rig, ctl, agents
    rig.close()


def played(agent, bc: dict) -> bool:
    return any(p["broadcast_id"] == bc["id"] for p in agent.plays())


def stored(ctl, device: str, bc: dict) -> list[str]:
    return sorted(r["kind"] for r in ctl.events(device_id=device, broadcast_id=bc["id"]))
