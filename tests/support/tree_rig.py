"""A province broker and two commune brokers bridged to it, all running the configs ``loaxa broker config`` writes.

``tinh`` → ``xa-a`` (village ``thon-a``) and ``xa-b`` (``thon-b``), as in :mod:`support.tree`.
Each commune broker's bridge dials the province broker through its own
:class:`~support.tcp_proxy.TcpProxy`, so a test can cut, pause or flap one commune's link.
Devices and their enrollment go through the operator's commands and the controller's
enrollment endpoint, so every agent is told its commune broker's address by enrollment.
"""

from __future__ import annotations

from pathlib import Path

from controller.devices.registry import Registry
from controller.devtools.broker_runner import Broker, free_port
from controller.security.broker_tree import BrokerTree
from controller.security.commune_config import commune_files
from support.harness import AgentHandle, _env, loaxa, wait_for
from support.secure_rig import SecureRig
from support.tcp_proxy import TcpProxy
from support.tree import UNITS, seed_registry

COMMUNES = {"xa-a": "thon-a", "xa-b": "thon-b"}


class TreeRig(SecureRig):
    """The controller config of a province with commune brokers; brokers, proxies and agents on loopback."""

    def __init__(self, root: Path, plans: str = "", security: str = ""):
        super().__init__(root, tls=True, plans=plans, security=security)
        self.proxies: dict[str, TcpProxy] = {}
        self.communes: dict[str, Broker] = {}
        self.codes: dict[str, str] = {}

    def build(self, devices: dict[str, str]) -> None:
        """Units, devices (device id -> village), the commune brokers and every generated file."""
        db = self.db()
        try:
            seed_registry(Registry(db), devices=False)
        finally:
            db.close()
        assert [u.id for u in UNITS if u.level == "commune"] == list(COMMUNES)
        for device_id, village in devices.items():
            self.codes[device_id] = self.add_device(device_id, village)
        db = self.db()
        try:
            tree = BrokerTree(db)
            for commune in COMMUNES:
                self.proxies[commune] = TcpProxy("localhost", self.tls_port)
                tree.add(self.config, commune, [commune], "localhost", free_port(),
                         f"localhost:{self.proxies[commune].port}", actor="test")
        finally:
            db.close()
        self.cli("broker", "config")

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
        for commune in COMMUNES:
            self.start_commune(commune)
        self.wait_links({c: True for c in COMMUNES})

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
