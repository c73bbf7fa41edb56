"""Device-side security use cases, shared by the controller process and the operator CLI.

Enrollment, revocation, the kill switch and key rotation each touch the database, the
broker's access files and MQTT; this class wires them once, whether it runs inside the
controller service or in a ``loaxa`` command on the controller machine.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Callable

from controller.security import broker_config
from controller.reports.audit import AuditTrail
from controller.config import ControllerConfig
from controller.devices.credentials import Credentials, DeviceRevoked
from controller.db import Database
from controller.plans.dispatch import Dispatcher
from controller.devices.enrollment import AttemptLimiter, Enrollment, TooManyAttempts
from controller.devices.event_trust import DeviceKeys, valid_public_key
from controller.errors import InputError
from controller.security.keyring import Keyring, Rotation, latest_rollover, rotate, unconfirmed_devices
from controller.security.kill_switch import KillSwitches
from controller.devices.registry import Registry, check_name, register_device
from controller.people.actor import Actor
from controller.tree_records import Device
from loaxa import protocol
from loaxa.config import MqttSettings
from loaxa.wire_time import format_time, utcnow

log = logging.getLogger(__name__)

PublishAndWait = Callable[[str, bytes], None]
KEY_FILE_CHECK_S = 2.0


@dataclass(frozen=True)
class BrokerGrant:
    """Where and as whom an enrolled device reaches its broker."""

    host: str
    port: int
    username: str
    password: str
    tls: bool

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "port": self.port, "username": self.username, "password": self.password,
                "tls": self.tls}


@dataclass(frozen=True)
class EnrollmentBundle:
    """Everything an agent needs after enrolling (the JSON of ``POST /api/enroll``): its identity, the
    controller's and the release signing keys, its broker account, and the CA to pin when the broker
    speaks TLS (empty otherwise)."""

    device_id: str
    controller_url: str
    controller_public_key: str
    kid: str
    release_public_key: str
    mqtt: BrokerGrant
    tls_ca_pem: str

    def to_dict(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "controller_url": self.controller_url,
                "controller_public_key": self.controller_public_key, "kid": self.kid,
                "release_public_key": self.release_public_key, "mqtt": self.mqtt.to_dict(),
                "tls_ca_pem": self.tls_ca_pem}


def mqtt_settings(config: ControllerConfig) -> MqttSettings:
    """The controller's broker connection: its generated account unless one is configured."""
    account = None if config.mqtt.username else broker_config.controller_account(config)
    if account is None:
        return config.mqtt
    return replace(config.mqtt, username=account[0], password=account[1])


def operator_mqtt_settings(config: ControllerConfig) -> MqttSettings:
    """The operator CLI's broker connection: its own generated account, never the controller's.

    Client ids follow user names on the generated broker, so a command using the
    controller's account would disconnect the running controller.  With an account
    configured in ``[mqtt]`` (a broker this product does not generate) that one is used.
    """
    account = None if config.mqtt.username else broker_config.operator_account(config)
    if account is None:
        return config.mqtt
    return replace(config.mqtt, username=account[0], password=account[1])


class DeviceSecurity:
    def __init__(self, config: ControllerConfig, db: Database, registry: Registry, dispatcher: Dispatcher,
                 keyring: Keyring, publish_and_wait: PublishAndWait):
        self.config = config
        self.db = db
        self.registry = registry
        self.dispatcher = dispatcher
        self.keyring = keyring
        self.publish_and_wait = publish_and_wait
        self.credentials = Credentials(db, config.broker.hash_iterations)
        self.enrollment = Enrollment(db, registry, self.credentials, config.security.enroll_code_ttl_min)
        self.limiter = AttemptLimiter(config.security.enroll_attempts_per_min)
        self.kill_switches = KillSwitches(db, registry, dispatcher.send_command)
        self.audit = AuditTrail(db)
        self._stop = threading.Event()
        self._follower: threading.Thread | None = None
        self.on_revoke: list[Callable[[str], object]] = []  # other accounts of the device (its stream account)
        # retained messages the controller signs besides plans (the chain heads): signed again after a
        # rollover, or a pole that restarts would find them under a retired key and raise an alarm
        self.on_rollover: list[Callable[[], object]] = []

    def start(self) -> None:
        """Follow the key file from a background thread (see :meth:`follow_key_file`)."""
        self._follower = threading.Thread(target=self._follow_loop, name="key-file", daemon=True)
        self._follower.start()

    def stop(self) -> None:
        self._stop.set()
        if self._follower:
            self._follower.join(timeout=5)

    def _follow_loop(self) -> None:
        while not self._stop.wait(KEY_FILE_CHECK_S):
            try:
                self.follow_key_file()
            except Exception:  # keep following; the next check retries
                log.exception("could not follow the signing key file")

    # devices ---------------------------------------------------------------------------
    def add_device(self, unit_id: str, name: str, device_id: str | None, actor: Actor) -> tuple[Device, str, datetime]:
        """Register a device and return it with a one-time enrollment code and its expiry."""
        device_id = device_id or self.enrollment.free_device_id(check_name(name))
        device = register_device(self.registry, self.audit, actor, device_id, name, unit_id)
        code, expires = self.enrollment.issue_code(device_id, actor.username)
        return device, code, expires

    def new_code(self, device_id: str, actor: Actor) -> tuple[str, datetime]:
        code, expires = self.enrollment.issue_code(device_id, actor.username)
        self.audit.record(actor, "enrollment_code_issued", device_id, {"expires_at": format_time(expires)})
        return code, expires

    def enroll(self, code: Any, ip: str = "", device_public_key: Any = None) -> EnrollmentBundle:
        """Trade a one-time code for everything an agent needs; the broker learns the account at once.

        The device sends the public half of the key it just made; from now on only batches
        sealed with that key count as its playback record (re-enrolling replaces it).
        """
        if not self.limiter.allow(ip or "unknown"):
            raise TooManyAttempts("too_many_attempts", "Thử quá nhiều lần. Vui lòng đợi một phút rồi thử lại.")
        try:
            self.enrollment.check(code)  # an unknown, used or expired code first: the device learns nothing else
            if device_public_key is None:
                raise InputError("device_key_required", "Cụm loa phải gửi khóa công khai của mình khi đăng ký "
                                 "(hãy cập nhật phần mềm cụm loa).", "device_public_key")
            device_key = valid_public_key(device_public_key)
            device_id, username, password = self.enrollment.redeem(code, ip)
        except Exception as exc:
            self.audit.record("device", "enrollment_refused", "", {"reason": getattr(exc, "code", "error")}, ip)
            raise
        device_kid = DeviceKeys(self.db).register(device_id, device_key, utcnow())
        self.audit.record(f"device:{device_id}", "device_enrolled", device_id,
                          {"username": username, "device_kid": device_kid}, ip)
        broker_config.apply_credentials(self.config, self.db)
        self.dispatcher.publish_plan(device_id, force=True)
        host, port, tls = broker_config.device_broker_address(self.config, self.db, device_id)
        files = broker_config.BrokerFiles(broker_config.broker_dir(self.config))
        return EnrollmentBundle(
            device_id=device_id,
            controller_url=self.config.public_url,
            controller_public_key=protocol.public_key_to_text(self.keyring.public_key),
            kid=self.keyring.kid,
            release_public_key=self.config.fleet.release_public_key,
            mqtt=BrokerGrant(host, port, username, password, tls),
            tls_ca_pem=files.ca_cert.read_text() if tls and files.ca_cert.exists() else "",
        )

    def revoke(self, device_id: str, actor: Actor) -> DeviceRevoked:
        """Remove the device's credentials; effective once the broker reloaded (reported)."""
        self.registry.device(device_id)
        revoked = self.credentials.revoke_device(device_id)
        DeviceKeys(self.db).retire(device_id, utcnow())
        with self.db.tx() as db:
            db.execute("UPDATE enrollment_codes SET used_at = COALESCE(used_at, ?), used_from = "
                       "CASE WHEN used_at IS NULL THEN 'revoked' ELSE used_from END WHERE device_id = ?",
                       [format_time(utcnow()), device_id])
        self.audit.record(actor, "device_revoked", device_id, {"had_credentials": revoked})
        for hook in self.on_revoke:
            hook(device_id)
        reloaded = broker_config.apply_credentials(self.config, self.db)
        return DeviceRevoked(device_id, revoked, reloaded)

    # keys ------------------------------------------------------------------------------
    def rotate_keys(self, actor: Actor, force: bool = False) -> Rotation:
        stranded = unconfirmed_devices(self.db)
        if stranded and not force:
            raise RuntimeError(
                f"{len(stranded)} device(s) have not yet applied a plan signed after the last rotation "
                f"({', '.join(stranded[:10])}); rotating again would leave them unable to verify anything")
        rotation = rotate(self.keyring, self.db, self.publish_and_wait)
        self.audit.record(actor, "key_rotated", rotation.next_kid,
                          {"seq": rotation.seq, "retired_kid": rotation.retired_kid, "stranded": stranded})
        return rotation

    def republish_rollover(self) -> None:
        """The retained rollover survives a broker that lost its retained messages."""
        last = latest_rollover(self.db)
        if last:
            self.dispatcher.publisher.publish(protocol.keys_topic(), last[2], qos=1, retain=True)

    def follow_key_file(self) -> None:
        """Sign again, with the current key, every plan issued before the last rollover, and send it.

        Runs every few seconds and on each broker connect, so a rotation done by
        ``loaxa keys rotate`` (or while the controller was stopped) reaches every device.
        """
        if self.keyring.refresh():
            self.republish_rollover()
        last = latest_rollover(self.db)
        if last is None:
            return
        with self.db.tx() as db:
            stale = [r[0] for r in db.execute("SELECT device_id FROM device_plans WHERE issued_at < ?", [last[1]])]
        if stale:
            sent = self.dispatcher.publish_plans(stale, force=True)
            log.info("re-signed %d plans with key %s", sent, self.keyring.kid)
            for resign in self.on_rollover:
                resign()
