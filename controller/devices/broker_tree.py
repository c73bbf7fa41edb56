"""A tree of brokers: the province broker, and one mosquitto per commune (or cluster group) bridged to it.

Devices connect to their commune's broker and keep playing from their plans when the
commune's link to the province drops; their events queue there and cross the bridge once
it heals.  mosquitto 2.0's own bridge is the engine, with the settings measured to keep
every message across an outage: ``mqttv311``, ``cleansession false``, QoS 1, persistence
on both ends (an ``mqttv50`` or ``cleansession true`` bridge lost retained clears and
queued QoS 1 messages).  A bridge re-sends retained plans on each reconnect, sometimes
twice; agents ignore a plan whose version is not newer, so that is harmless.

Each commune broker has its own bridge account on the province broker, whose ACL lets it
read exactly its devices' ``plan``/``cmd``/``ack`` topics, the group topics of its units
and the units above them, and the key rollover, and write only its devices' ``state`` and
``events`` and its own link state.  Devices of a commune broker are not accounts of the
province broker: it accepts the controller, the operator commands and the bridges.  The
bridge link uses TLS verified with the deployment's CA, the one devices already pin.

Which commune brokers exist is kept in the database (``loaxa broker commune add``);
``loaxa broker config`` writes one directory per commune broker below the province's
broker directory (``communes/<id>/``), to be installed on that broker's machine.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from controller.config import ControllerConfig
from controller.db import Database
from controller.devices.credentials import Account, hash_password, new_password, write_secret
from controller.devices.bridge_queues import sys_topic_prefix
from controller.errors import InputError, NotFound
from controller.reports.audit import AuditTrail
from loaxa import protocol
from loaxa.wire_time import format_time, utcnow

BRIDGE_PREFIX = "bridge-"
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")

# Sized from measurement: a commune of 300 clusters sends about 7 events per cluster per
# programme, two programmes a day, and one state change per reconnect.  A 24 h outage is
# about 4,200 events in at most 600 batches; the limits leave a wide margin and stay far
# below what a small broker's memory holds (a batch is under 4 KB).
COMMUNE_QUEUE_MESSAGES = 100_000
COMMUNE_QUEUE_BYTES = 256 * 1024 * 1024
BRIDGE_KEEPALIVE_S = 30
SYS_INTERVAL_S = 10  # how often a commune broker reports its queue figures (controller.devices.bridge_queues)


def link_topic(broker_id: str) -> str:
    """Where a commune broker's bridge says it is up ("1") or down ("0", its will on the province broker)."""
    return f"{protocol.TOPIC_ROOT}/bridge/{broker_id}/state"


LINK_WILDCARD = f"{protocol.TOPIC_ROOT}/bridge/+/state"


@dataclass(frozen=True)
class CommuneBroker:
    """One commune (or cluster group) broker: the units it serves and where its devices reach it."""

    id: str
    name: str
    units: tuple[str, ...]
    device_host: str
    device_port: int
    province_address: str  # host:port the bridge dials; empty: the province broker's own TLS address
    bridge_username: str
    link_up: bool | None
    link_changed_at: str | None


def _row(r: dict[str, Any]) -> CommuneBroker:
    return CommuneBroker(r["id"], r["name"], tuple(json.loads(r["units_json"])), r["device_host"], r["device_port"],
                         r["province_address"], r["bridge_username"],
                         None if r["link_up"] is None else bool(r["link_up"]), r["link_changed_at"])


def bridge_secret_path(config: ControllerConfig, broker_id: str) -> Path:
    """The bridge's password in clear, which its commune broker's mosquitto.conf must carry."""
    return config.data_dir / "keys" / f"mqtt-bridge-{broker_id}.secret"


class BrokerTree:
    """The ``commune_brokers`` table: add, remove, list, which broker serves a device, link state."""

    def __init__(self, db: Database):
        self.db = db

    def all(self) -> list[CommuneBroker]:
        with self.db.tx() as db:
            return [_row(r) for r in db.query("SELECT * FROM commune_brokers ORDER BY id")]

    def get(self, broker_id: str) -> CommuneBroker:
        for b in self.all():
            if b.id == broker_id:
                return b
        raise NotFound("unknown_commune_broker", f"Không có trạm MQTT xã '{broker_id}'.")

    def add(self, config: ControllerConfig, broker_id: Any, units: Iterable[Any], device_host: Any,
            device_port: Any = 8883, province_address: Any = "", name: Any = "", actor: str = "") -> CommuneBroker:
        """Declare a commune broker and issue its bridge account (password kept for its config file)."""
        if not isinstance(broker_id, str) or not _ID_RE.match(broker_id):
            raise InputError("invalid_broker_id", "Mã trạm MQTT chỉ gồm chữ thường, số và dấu gạch ngang.", "id")
        units = [u for u in units if isinstance(u, str) and u]
        if not units:
            raise InputError("no_units", "Cần ít nhất một đơn vị (xã, thôn) cho trạm MQTT.", "units")
        if not isinstance(device_host, str) or not device_host.strip():
            raise InputError("invalid_host", "Cần tên máy hoặc địa chỉ mà cụm loa dùng để tới trạm MQTT.", "host")
        if not isinstance(device_port, int) or not 0 < device_port < 65536:
            raise InputError("invalid_port", "Cổng không hợp lệ.", "port")
        if not isinstance(province_address, str) or (province_address and ":" not in province_address):
            raise InputError("invalid_address", "Địa chỉ trạm tỉnh phải có dạng máy:cổng.", "province_address")
        password = new_password()
        with self.db.tx() as db:
            known = {r[0] for r in db.execute("SELECT id FROM units")}
            unknown = [u for u in units if u not in known]
            if unknown:
                raise InputError("unknown_unit", f"Không có đơn vị: {', '.join(unknown)}.", "units")
            taken = {u for b in self.all() if b.id != broker_id for u in b.units}
            if taken & set(units):
                raise InputError("unit_taken", f"Đơn vị đã thuộc trạm MQTT khác: {', '.join(sorted(taken & set(units)))}.",
                                 "units")
            db["commune_brokers"].insert({
                "id": broker_id, "name": name if isinstance(name, str) else "", "units_json": json.dumps(units),
                "device_host": device_host.strip(), "device_port": device_port, "province_address": province_address,
                "bridge_username": BRIDGE_PREFIX + broker_id, "bridge_password_hash": hash_password(password),
                "created_at": format_time(utcnow()), "created_by": actor, "link_up": None, "link_changed_at": None,
            }, replace=True)
            AuditTrail(self.db).record(actor, "broker_commune_added", broker_id,
                                       {"units": units, "device_host": device_host, "device_port": device_port})
        write_secret(bridge_secret_path(config, broker_id), password + "\n")
        return self.get(broker_id)

    def remove(self, broker_id: str, actor: str = "") -> None:
        self.get(broker_id)
        with self.db.tx() as db:
            db.execute("DELETE FROM commune_brokers WHERE id = ?", [broker_id])
            AuditTrail(self.db).record(actor, "broker_commune_removed", broker_id, {})

    # which broker serves whom ------------------------------------------------------------
    def devices_of(self) -> dict[str, list[str]]:
        """Commune broker id -> the devices under its units (registered, enrolled or not)."""
        brokers = self.all()
        with self.db.tx() as db:
            parents: dict[str, str | None] = dict(db.execute("SELECT id, parent_id FROM units").fetchall())
            devices = db.execute("SELECT id, unit_id FROM devices ORDER BY id").fetchall()
        owner = {u: b.id for b in brokers for u in b.units}
        out: dict[str, list[str]] = {b.id: [] for b in brokers}
        for device_id, unit in devices:
            seen: set[str] = set()
            while unit is not None and unit not in seen:
                if unit in owner:
                    out[owner[unit]].append(device_id)
                    break
                seen.add(unit)
                unit = parents.get(unit)
        return out

    def broker_of(self, device_id: str) -> CommuneBroker | None:
        for b in self.all():
            if device_id in self.devices_of().get(b.id, []):
                return b
        return None

    # link state --------------------------------------------------------------------------
    def on_link_message(self, topic: str, payload: bytes) -> bool:
        """A bridge's notification (retained "1" on connect, "0" its will): True if the topic was one."""
        parts = topic.split("/")
        if len(parts) != 5 or "/".join(parts[:2]) != protocol.TOPIC_ROOT or parts[2] != "bridge" or parts[4] != "state":
            return False
        up = payload.strip() == b"1"
        with self.db.tx() as db:
            db.execute("UPDATE commune_brokers SET link_up = ?, link_changed_at = ? WHERE id = ? "
                       "AND (link_up IS NULL OR link_up != ?)", [int(up), format_time(utcnow()), parts[3], int(up)])
        return True

    def cut_off_devices(self) -> dict[str, str]:
        """Device -> the commune broker whose bridge is down now (those devices cannot be reached)."""
        down = {b.id for b in self.all() if b.link_up is False}
        if not down:
            return {}
        return {d: b for b, devices in self.devices_of().items() if b in down for d in devices}


def province_acl_lines(tree: BrokerTree, groups_of: dict[str, list[str]]) -> list[str]:
    """The province broker's ACL entries of every bridge account, and the controller's read of link states."""
    lines: list[str] = []
    devices_of = tree.devices_of()
    for b in tree.all():
        devices = devices_of.get(b.id, [])
        lines.append(f"user {b.bridge_username}")
        lines += in_topics(b, devices, groups_of, fmt="topic read {}")
        for d in devices:
            lines += [f"topic write {protocol.state_topic(d)}", f"topic write {protocol.events_topic(d)}"]
        lines += [f"topic write {link_topic(b.id)}", f"topic write {sys_topic_prefix(b.id)}#", ""]
    return lines


def in_topics(b: CommuneBroker, devices: list[str], groups_of: dict[str, list[str]], fmt: str) -> list[str]:
    """What crosses a bridge towards its devices: their plans, commands and acks, group commands, key rollovers,
    and the signed chain heads every pole keeps (retained: a bridge that connects later still brings them)."""
    groups = sorted({g for d in devices for g in groups_of.get(d, [])} | set(b.units))
    out = [fmt.format(t) for d in devices
           for t in (protocol.plan_topic(d), protocol.cmd_topic(d), protocol.ack_topic(d))]
    out += [fmt.format(protocol.group_cmd_topic(g)) for g in groups]
    out.append(fmt.format(protocol.keys_topic()))
    out.append(fmt.format(protocol.heads_topic()))
    return out


def bridge_accounts(tree: BrokerTree) -> list[Account]:
    with tree.db.tx() as db:
        rows = db.execute("SELECT bridge_username, bridge_password_hash FROM commune_brokers ORDER BY id").fetchall()
    return [Account(u, "bridge", None, h) for u, h in rows]
