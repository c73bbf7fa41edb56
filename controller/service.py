"""The controller service: wires the database, signing key, MQTT, jobs and use cases."""

from __future__ import annotations

import logging
import threading
from typing import Any

from datetime import timedelta

from controller.alerts.service import AlertService
from controller.reports.audit import AuditTrail
from controller.plans.broadcasts import Broadcasts
from controller.plans.bulletins import Bulletins
from controller.dictionary.store import CommuneDictionary
from controller.config import ControllerConfig
from controller.db import Database
from controller.plans.dispatch import Dispatcher
from controller.plans.emergency import Emergencies
from controller.plans.guardrail_store import GuardrailStore
from controller.devices.desired import DesiredState
from controller.devices.flapping import FlapWatch
from controller.devices.history import DeviceHistory
from controller.devices.link import BrokerLink
from controller.devices.volume_schedule import VolumeSchedules
from controller.devices.ingest import Ingest, PlaybackLogEntry, playback_log
from controller.devices.test_tone import ToneMedia
from controller.fleet.service import Fleet
from controller.plans.jobs import JobRunner, MediaKeeper
from controller.security.broker_config import plaintext_exposure
from controller.security.broker_config import broker_dir, device_broker_address
from controller.security.device_security import DeviceSecurity, mqtt_settings
from controller.devices.bridge_queues import SYS_WILDCARD, BridgeQueues
from controller.devices.broker_tree import LINK_WILDCARD, BrokerTree
from controller.security.keyring import Keyring
from controller.devices.media_access import MediaAccess
from controller.metrics import ControllerMetrics
from controller.plans.readiness import readiness
from controller.plans.records import Broadcast, Bulletin, Emergency, GuardrailView, ReadinessSlot
from controller.operations.retention import Retention
from controller.devices.registry import Registry
from controller.plans.ocr_checks import OcrChecks
from controller.plans.render_progress import RenderProgressRegistry
from controller.people.users import Users
from controller.streaming.live import LiveSessions, quiet_devices
from controller.people.actor import Actor
from controller.plans import use_cases as plan_use_cases
from controller.notifications import Notifications
from controller.streaming.service import Streaming
from loaxa import protocol
from loaxa.wire_time import utcnow
from loaxa.mqtt_client import MqttConnection

log = logging.getLogger(__name__)


def _device_host(config: ControllerConfig) -> str:
    """Devices reach Icecast by the host they reach the broker by."""
    return device_broker_address(config)[0]


class Controller:
    """One controller process. Construct, :meth:`start`, then use; nothing connects before start."""

    def __init__(self, config: ControllerConfig):
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(config.db_path)
        self.keyring = Keyring(config.key_path)
        self.signer = self.keyring  # signs with whatever key the key file holds now (see keyring.py)
        self.registry = Registry(self.db, config.plans.low_volume_fault)
        self.broker_tree = BrokerTree(self.db)
        self.bridge_queues = BridgeQueues()
        self.users = Users(self.db, config.people)
        self.audit = AuditTrail(self.db)
        self.dictionary = CommuneDictionary(self.db, self.audit)
        self.bulletins = Bulletins(self.db, config.media_dir, config.audio, config.script, config.unit.commune_name,
                                   local=self.dictionary.local)
        self.render_progress = RenderProgressRegistry()
        self.ocr_checks = OcrChecks()
        self.guardrails = GuardrailStore(self.db, config.schedules)
        self.broadcasts = Broadcasts(self.db, self.registry, self.guardrails.policy, config.plans.auto_approve)
        self.broker_link = BrokerLink()
        broker_settings = mqtt_settings(config)
        self.mqtt = MqttConnection(
            broker_settings,
            client_id=protocol.client_id(broker_settings.username, "loaxa-controller"),
            on_message=self._on_message,
            subscriptions=[(protocol.STATE_WILDCARD, 1), (protocol.EVENTS_WILDCARD, 1), (LINK_WILDCARD, 1),
                           (SYS_WILDCARD, 0)],
            on_connect=self._on_connect,
            on_disconnect=self.link_down,
        )
        self.dispatcher = Dispatcher(self.db, self.registry, self.signer, self.mqtt, config.plans, self.guardrails.policy)
        self.emergencies = Emergencies(self.db, self.registry, self.bulletins, self.dispatcher,
                                       timedelta(minutes=config.alerts.emergency_late_minutes),
                                       lambda devices: self.jobs.rebuild(sorted(devices)))
        self.flaps = FlapWatch(self.db, config.security.flap_reconnects, config.security.flap_window_s)
        self.volume_schedules = VolumeSchedules(self.db)
        self.desired = DesiredState(self.db, self.dispatcher.send_command, self._volume_steps_of)
        self.device_history = DeviceHistory(self.db)
        self.ingest = Ingest(self.db, self.registry, self.dispatcher.send_ack, self.flaps, history=self.device_history,
                             observers=[self.desired.on_state], audit=self.audit,
                             require_signatures=config.security.require_device_signatures)
        self.security = DeviceSecurity(config, self.db, self.registry, self.dispatcher, self.keyring,
                                       self._publish_and_wait)
        self.jobs = JobRunner(self.db, self.dispatcher,
                              MediaKeeper(self.db, config.media_dir, config.audio, self.dictionary.local), config.plans,
                              config.jobs_db_path,
                              Retention(self.db, config.retention, config.media_dir, self.keyring.sign_detached))
        self.media_access = MediaAccess(self.db)
        self.alerts = AlertService(self.db, self.bulletins, self.audit, config.alerts, self.guardrails.policy,
                                   self.jobs.rebuild, self._stop_device, self._warm_up_devices)
        self.fleet = Fleet(self.db, self.registry, self.audit, config.fleet, config.releases_dir,
                           self.dispatcher.send_command, self.test_tone_media)
        from controller.devices.remote import RemoteCommands

        self.remote = RemoteCommands(self.registry, self.audit, self.dispatcher.send_command, self.test_tone_media,
                                     config.plans.editor_min_volume, self.desired)
        self.streaming = Streaming(self.db, config.streaming, config.data_dir, _device_host(config),
                                   ca_dir=broker_dir(config) / "tls", media_dir=config.media_dir)
        self.security.on_revoke.append(self.streaming.accounts_revoke)
        self.dispatcher.streams = self.streaming.stream_ref
        self.live = LiveSessions(self.db, self.streaming, self.registry, self.audit, self.dispatcher.send_command,
                                 self.security.kill_switches.desired,
                                 lambda devices, now: quiet_devices(self.db, self.guardrails.policy(), devices, now),
                                 config.media_dir)
        self.ingest.observers.append(self.live.on_state)  # a pole back online joins the live session on air
        self.dispatcher.on_relays = self.streaming.plan_relays

        from controller.reports.head_copies import HeadShipper

        self.heads = HeadShipper(self.db, self.signer,
                                 lambda topic, payload: self.mqtt.publish(topic, payload, qos=1, retain=True),
                                 config.retention.heads_every_min * 60, config.retention.heads_copy_url,
                                 config.public_url, config.retention.heads_copy_cafile)
        self.security.on_rollover.append(self.heads.ship)
        from controller.reports.head_receiver import HeadReceiver

        self.head_receiver = HeadReceiver(self.db, config.retention.heads_copy_senders, self.audit)
        from controller.devices.key_migration import KeyMigration

        self.key_migration = KeyMigration(self.db, self.audit)

        self.notifications = Notifications(self.db, self.users, config.notifications, config.public_url)
        self.emergencies.on_unreached.append(self.notifications.on_unreached)
        self.metrics = ControllerMetrics(self)
        self._started = False

    # lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        self.streaming.start()  # before the first plans: a relay's item needs the stream address
        self.live.start_watch()
        self.jobs.start()
        self.mqtt.start()
        self.security.start()
        self.fleet.start()
        self.emergencies.start()
        self.alerts.start(self.jobs.scheduler)
        self.heads.start()
        self.notifications.start()
        self._started = True
        for what in plaintext_exposure(self.config):
            log.error("PLAINTEXT beyond this machine: %s; set up TLS (see docs/security.md)", what)
        log.info("controller started; signing key %s", self.signer.kid)

    def stop(self) -> None:
        if self._started:
            self.alerts.shutdown()
            self.heads.stop()
            self.notifications.stop()
            self.jobs.shutdown()
            self.emergencies.stop()
            self.live.shutdown()
            self.streaming.stop()
            self.fleet.stop()
            self.security.stop()
            self.mqtt.stop()
        self.db.close()

    def _volume_steps_of(self, device_id: str) -> tuple[Any, ...]:
        """The volume schedule a device's plan carries: its nearest unit's that has one."""
        found = self.volume_schedules.for_units(self.registry.ancestors(self.registry.device(device_id).unit_id))
        return found.steps if found else ()

    def link_down(self) -> None:
        self.broker_link.down()

    def _on_connect(self) -> None:
        self.broker_link.up()
        threading.Thread(target=self._after_connect, name="plans-on-connect", daemon=True).start()

    def _after_connect(self) -> None:
        self.security.republish_rollover()
        self.dispatcher.republish_retained()
        self.heads.republish()
        self.jobs.rebuild()

    def _on_message(self, topic: str, payload: bytes) -> None:
        if self.broker_tree.on_link_message(topic, payload) or self.bridge_queues.on_message(topic, payload):
            return
        self.ingest.handle(topic, payload)
        self.security.kill_switches.on_message(topic, payload)

    def _stop_device(self, device_id: str) -> None:
        self.dispatcher.send_command(f"dev/{device_id}", "stop", reason="alert_stopped", issued_by="alerts")

    def _warm_up_devices(self, device_ids: list[str]) -> None:
        """A warning is about to air there: amplifiers on now (a short-lived command; a late device ignores it)."""
        until = utcnow() + timedelta(seconds=30)
        for device_id in device_ids:
            self.dispatcher.send_command(f"dev/{device_id}", "warm_up", reason="alert_coming", issued_by="alerts",
                                         expires_at=until)

    def _publish_and_wait(self, topic: str, payload: bytes) -> None:
        """Publish retained and return once the broker has it (raises if it does not answer)."""
        info = self.mqtt.publish(topic, payload, qos=1, retain=True)
        info.wait_for_publish(timeout=10)
        if not info.is_published():
            raise RuntimeError(f"the broker did not confirm the message on {topic}")

    # use cases -------------------------------------------------------------------
    def verify_audit(self) -> list[Any]:
        """The hash chains and their retention anchors, checked against every key this controller signed with."""
        from controller.reports.audit import verify_all
        from controller.security.key_file import trusted_public_keys

        return verify_all(self.db, trusted_public_keys(self.config.key_path), self.config.retention.minimum_days)

    # The product's own callers (the command line, the demo, benchmarks) name a person rather
    # than bring a session; they act as the system under that name, through the same use cases.
    def add_bulletin(self, title: Any, text: Any, created_by: str = "", script: Any = None,
                     progress_id: Any = None) -> Bulletin:
        """Render and store a bulletin; with ``progress_id``, ``created_by`` can follow the render meanwhile."""
        return plan_use_cases.add_bulletin(self, Actor.system(created_by), title, text, script, progress_id)

    def schedule_broadcast(self, bulletin_id: Any, starts_at: Any = None, targets: Any = None, priority: Any = "normal",
                           created_by: str = "", **spec: Any) -> Broadcast:
        """Check and store a broadcast; it reaches plans once approved (at once with ``auto_approve``)."""
        return plan_use_cases.schedule_broadcast(self, Actor.system(created_by), bulletin_id, starts_at, targets,
                                                 priority, **spec)

    def edit_broadcast(self, broadcast_id: str, changes: dict[str, Any], by: str = "") -> Broadcast:
        return plan_use_cases.edit_broadcast(self, Actor.system(by), broadcast_id, changes)

    def submit_broadcast(self, broadcast_id: str, by: str = "") -> Broadcast:
        return plan_use_cases.submit_broadcast(self, Actor.system(by), broadcast_id)

    def approve_broadcast(self, broadcast_id: str, approver: str, comment: Any = "") -> Broadcast:
        return plan_use_cases.approve_broadcast(self, Actor.system(approver), broadcast_id, comment)

    def reject_broadcast(self, broadcast_id: str, approver: str, comment: Any = "") -> Broadcast:
        return plan_use_cases.reject_broadcast(self, Actor.system(approver), broadcast_id, comment)

    def cancel_broadcast(self, broadcast_id: str, by: str = "") -> Broadcast:
        return plan_use_cases.cancel_broadcast(self, Actor.system(by), broadcast_id)

    def replan(self, bc: Broadcast, also: list[str] | None = None) -> Broadcast:
        """After any change: arm or drop the media job, republish the plans of every device involved, tell who waits."""
        self.notifications.on_broadcast(bc)
        if bc.status == "approved":
            self.jobs.arm_render(bc.id)
        else:
            self.jobs.forget(bc.id)
        self.jobs.rebuild(sorted(set(bc.devices) | set(also or ())))
        return bc

    def put_unit_guardrails(self, unit_id: str, values: Any, updated_by: str = "") -> GuardrailView:
        return plan_use_cases.put_guardrails(self, Actor.system(updated_by), unit_id, values)

    def emergency(self, targets: Any, triggered_by: str, **content: Any) -> Emergency:
        return plan_use_cases.trigger_emergency(self, Actor.system(triggered_by), targets, content)

    def readiness(self, hours: float = 24.0, limit: int = 50) -> list[ReadinessSlot]:
        return readiness(self.db, self.dispatcher, utcnow(), hours, limit, self.config.plans.low_volume_fault)

    def playback(self, **filters: Any) -> list[PlaybackLogEntry]:
        """Stored playback events, newest first (the filters of :func:`controller.devices.ingest.playback_log`)."""
        return playback_log(self.db, **filters)

    def test_tone_media(self) -> ToneMedia:
        """The shared 1 kHz test tone in the media store (made once), for test plays and speaker checks."""
        from controller.devices.test_tone import test_tone_media

        return test_tone_media(self.db, self.config.media_dir)

    def public_key(self) -> dict[str, str]:
        return {"public_key": protocol.public_key_to_text(self.signer.public_key), "kid": self.signer.kid}
