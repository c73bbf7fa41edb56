"""The edge agent: verify, persist, prefetch, play, report.

Everything from the controller is checked against the pinned public key, the device id,
its expiry and the last version or sequence seen, before anything is stored or played.
Playback events go to the local outbox first and leave it only when the controller
acknowledges that it stored them.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import shutil
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edge_agent import sdnotify
from edge_agent.capture import make_meter
from edge_agent.clock import ClockMonitor
from edge_agent.controller_tls import controller_context
from edge_agent import diagnostics
from edge_agent.conductor import Conductor
from edge_agent.config import AgentConfig
from edge_agent.hardware import Relay, Volume
from edge_agent.keyring import PinnedKeys, is_keys_topic
from edge_agent.kill_switch import KillSwitch
from edge_agent.volume_schedule import VolumeScheduler
from edge_agent.media_cache import Downloads, MediaCache, MediaError, MediaRef, basic_auth
from edge_agent.player import AlsaOutput, FileSinkOutput, Output
from edge_agent.store import AgentStore
from edge_agent.updater import Updater, decode_test_tone
from loaxa import __version__, protocol
from loaxa.logs import log_context
from loaxa.mqtt_client import MqttConnection
from loaxa.protocol import (
    Ack,
    Command,
    DeviceState,
    EventBatch,
    Plan,
    PlaybackEvent,
    PlayItem,
    ProtocolError,
    Signer,
    Verifier,
)
from loaxa.wire_time import format_time, utcnow

log = logging.getLogger(__name__)

OUTBOX_BATCH = 100
SECURITY_EVENT_INTERVAL_S = 60.0
VOLUME_SCHEDULE_CHECK_S = 5.0
MIN_PLAYS_DAYS = 2.0
PLAN_CHECK_TIMEOUT_S = 5.0
MAX_PLAN_BYTES = 4 * 1024 * 1024
WARM_UP_HOLD_S = 60.0  # a warm_up command keeps the amplifier on this long at most, if the warning never comes


class AgentError(RuntimeError):
    """The agent cannot start: the message says which setting is wrong."""


def make_output(config: AgentConfig, volume: Volume | None = None) -> Output:
    if config.player.backend == "file":
        return FileSinkOutput(config.sink_dir, config.player.sample_rate,
                              volume=(lambda: volume.mixer) if volume is not None else (lambda: None))
    if config.player.backend == "alsa":
        return AlsaOutput(config.player.alsa_device, config.player.sample_rate)
    raise AgentError(f"unknown player backend {config.player.backend!r} (use 'alsa' or 'file')")


def load_device_key(path: Path) -> Signer:
    """The pole's own signing key (made by ``loaxa agent enroll``); one is made now if it is missing,
    and then the controller refuses this device's events until it is enrolled again."""
    try:
        return Signer.from_pem(path.read_bytes())
    except FileNotFoundError:
        pass
    signer = Signer.generate()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(signer.private_pem())
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, path)  # whole or absent, even after a power cut; never over a key already there
    except FileExistsError:
        return Signer.from_pem(path.read_bytes())
    finally:
        os.unlink(tmp)
    log.warning("made a new device key %s: this device's playback events count only once it is enrolled with it "
                "('loaxa agent enroll')", signer.kid)
    return signer


class Agent:
    def __init__(self, config: AgentConfig, output: Output | None = None):
        if not config.device_id:
            raise AgentError("device_id is not set (enroll the device or set LOAXA_DEVICE_ID)")
        protocol.plan_topic(config.device_id)
        if not config.controller_public_key:
            raise AgentError("controller_public_key is not set: the agent will not play anything unsigned")
        if config.plays_days < MIN_PLAYS_DAYS:
            raise AgentError(f"plays_days must be at least {MIN_PLAYS_DAYS} (plans reach two days ahead), got {config.plays_days}")
        if config.events_resend_s <= 0:
            raise AgentError(f"events_resend_s must be positive, got {config.events_resend_s}")
        self.config = config
        self.device_id = config.device_id
        self.started_at: datetime | None = None  # set by start(); reported so a restart or a reboot shows
        self.boot_at = diagnostics.host_boot_time()
        self.store = AgentStore(config.db_path)
        self.device_key = load_device_key(config.device_key_path)
        self.keys = PinnedKeys(self.store, config.controller_public_key)
        self.verifier: Verifier = self.keys.verifier
        self.kill_switch = KillSwitch(self.store)
        auth = (config.mqtt.username, config.mqtt.password) if config.mqtt.username else None
        self.https = controller_context(config)
        self.cache = MediaCache(config.cache_dir, self.store, config.controller_url, auth, context=self.https)
        self.volume = Volume(config.volume)
        self.volume_schedule = VolumeScheduler(self.volume.apply, lambda: self.plan.volume_steps if self.plan else ())
        self.output = output or make_output(config, self.volume)
        self.relay = Relay(config.relay)
        self.clock = ClockMonitor(config.clock)
        try:
            meter = make_meter(config.capture)
        except ValueError as exc:
            raise AgentError(str(exc)) from None
        self.plan: Plan | None = self._load_plan()
        self.security_rejections = 0
        self.faults: set[str] = set()
        self._last_security_event = 0.0
        self._stop = threading.Event()
        self._send_wake = threading.Event()
        self._prefetch_wake = threading.Event()
        self._state_wake = threading.Event()
        self._volume_wake = threading.Event()
        self._inflight: tuple[int, float] | None = None
        self._lock = threading.RLock()
        self.mqtt = MqttConnection(
            config.mqtt,
            client_id=protocol.client_id(config.mqtt.username, f"loaxa-agent-{self.device_id}"),
            on_message=self._on_message,
            subscriptions=self._subscriptions(),
            will=(protocol.state_topic(self.device_id), protocol.encode(protocol.offline_state(self.device_id))),
            on_connect=self._on_connect,
        )
        self.conductor = Conductor(
            self.store, self.output, self.relay, config.player, config.relay,
            items=self._items, media_path=self._media_path, emit=self.emit, on_change=self._state_wake.set,
            blocked=self.kill_switch.blocked,
            clock_flags=self.clock.flags, clock_offset_s=self.clock.offset_s, meter=meter, device_id=self.device_id, stream_ca=config.mqtt.tls_ca,
            media_pending=lambda item: self.downloads.pending(self._ref(item)),
            release_media=lambda item: self.cache.release(self._ref(item)),
            volume=self.volume, emergency_min_volume=config.volume.emergency_min,
        )
        self.downloads = Downloads(self.cache, self._stop, on_error=self._media_error, on_done=self._downloaded)
        self.updater = Updater(config.update, self.store, config.release_public_key, config.controller_url, auth,
                               __version__, emit=self.emit, busy=self._update_busy, checks=self._health_checks,
                               restart=self.request_stop, changed=self._state_wake.set, context=self.https)
        self._tone_ok = False
        self.recent_log = diagnostics.RecentLog()
        logging.getLogger().addHandler(self.recent_log)
        self._threads = [
            threading.Thread(target=self._sender_loop, name="outbox", daemon=True),
            threading.Thread(target=self._prefetch_loop, name="prefetch", daemon=True),
            threading.Thread(target=self._state_loop, name="state", daemon=True),
            threading.Thread(target=self._clock_loop, name="clock", daemon=True),
            threading.Thread(target=self._volume_schedule_loop, name="volume-schedule", daemon=True),
        ]
        self._watchdog_s = sdnotify.watchdog_interval_s()
        if self._watchdog_s:
            self._threads.append(threading.Thread(target=self._watchdog_loop, name="watchdog", daemon=True))

    # lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self.started_at = utcnow().replace(microsecond=0)
        self._recover_unfinished_plays()
        self.conductor.start()
        self.downloads.start()
        for t in self._threads:
            t.start()
        self._prefetch_wake.set()
        self.mqtt.start()
        self.updater.start()
        sdnotify.notify(f"READY=1\nSTATUS=plan v{self.plan.plan_version if self.plan else 0}")
        log.info("agent %s started (plan v%d)", self.device_id, self.plan.plan_version if self.plan else 0)

    def stop(self) -> None:
        sdnotify.notify("STOPPING=1")
        self._stop.set()
        self.updater.stop()
        self.conductor.shutdown()
        self.conductor.join(timeout=10)
        for ev in (self._send_wake, self._prefetch_wake, self._state_wake, self._volume_wake):
            ev.set()
        self.downloads.shutdown()
        self.mqtt.stop(final=(protocol.state_topic(self.device_id), protocol.encode(protocol.offline_state(self.device_id))))
        self.relay.close()
        self.store.close()
        logging.getLogger().removeHandler(self.recent_log)

    def request_stop(self) -> None:
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._stop.wait(timeout)

    def run_forever(self) -> None:
        self.start()
        try:
            while not self._stop.wait(1):
                pass
        finally:
            if not self._stop.is_set():
                self.stop()

    def _recover_unfinished_plays(self) -> None:
        """A play cut short by a crash or power loss is logged ``interrupted``, never lost.

        A relay whose slot is still open is joined again at the live point, as after an emergency:
        the commune goes on hearing VOV instead of silence until the slot's end.
        """
        for item_id, info in self.store.unfinished_plays():
            item = None
            try:
                item = PlayItem.from_dict(info.get("item", {}))
            except ProtocolError:
                pass
            self.store.mark_play(item_id, "interrupted")
            played = info.get("played_s", 0.0) if info.get("actual_start") is not None else 0.0
            self.emit("interrupted", item, reason="agent_restart", item_id=item_id, actual_start=info.get("actual_start"),
                      duration_s=round(float(played), 3))
            if item is not None and item.stream is not None and time.time() < item.ends_at.timestamp():
                self.store.clear_play(item_id)

    # health ----------------------------------------------------------------------------
    def healthy(self) -> bool:
        """What the systemd watchdog vouches for: every worker thread alive and the store answering."""
        if not self.conductor.is_alive() or not all(t.is_alive() for t in self._threads):
            return False
        try:
            self.store.get("epoch")
        except Exception:  # noqa: BLE001 - any store failure means unhealthy
            return False
        return True

    def _health_checks(self) -> dict[str, bool]:
        """What a new version must show before its update is confirmed (see edge_agent.updater)."""
        if not self._tone_ok:
            self._tone_ok = decode_test_tone()
        return {
            "connected": self.mqtt.connected.is_set(),
            "plan_applied": self.plan is not None or self.store.load_plan_payload() is None,
            "test_tone_decoded": self._tone_ok,
        }

    def _update_busy(self) -> str:
        """Why an update must wait now ('' when it may go): a play on, or one planned soon."""
        playing = self.conductor.now_playing
        if playing is not None:
            return f"playing {playing.item_id}"
        horizon = time.time() + self.config.update.quiet_before_item_min * 60
        for item in self._upcoming():
            if item.start.timestamp() <= horizon:
                return f"item {item.item_id} starts at {format_time(item.start)}"
        return ""

    def _watchdog_loop(self) -> None:
        interval = self._watchdog_s or 1.0
        while not self._stop.wait(interval):
            if self.healthy():
                sdnotify.notify("WATCHDOG=1")
            else:
                log.error("a worker thread died or the store fails; letting the watchdog restart the agent")

    def _volume_schedule_loop(self) -> None:
        """Apply each step of the plan's volume schedule when it begins (checked every few seconds)."""
        while not self._stop.is_set():
            try:
                if self.volume_schedule.tick(utcnow()) is not None:
                    self._state_wake.set()
            except Exception:  # noqa: BLE001 - a bad round must not end the schedule
                log.exception("volume schedule step failed")
            self._volume_wake.wait(VOLUME_SCHEDULE_CHECK_S)
            self._volume_wake.clear()

    def _clock_loop(self) -> None:
        while not self._stop.is_set():
            before = self.clock.offset_ms
            self.clock.measure()
            if self.clock.offset_ms != before:
                self._state_wake.set()
            self._stop.wait(self.config.clock.check_interval_s)

    # plan and media ------------------------------------------------------------------
    def _load_plan(self) -> Plan | None:
        payload = self.store.load_plan_payload()
        if payload is None:
            return None
        try:
            return self.keys.for_stored_plan().open(payload, Plan)
        except ProtocolError as exc:
            log.error("stored plan no longer verifies (%s); waiting for a new one", exc)
            return None

    def _items(self) -> tuple[PlayItem, ...]:
        plan = self.plan
        return plan.items if plan else ()

    def _refs(self, items: tuple[PlayItem, ...]) -> list[MediaRef]:
        seen: dict[str, MediaRef] = {}
        for i in items:
            if i.stream is None:  # stream items have no media file
                seen.setdefault(i.sha256, MediaRef(i.sha256, i.ext, i.size))
        return list(seen.values())

    @staticmethod
    def _ref(item: PlayItem) -> MediaRef:
        return MediaRef(item.sha256, item.ext, item.size)

    def _media_path(self, item: PlayItem) -> Path | None:
        """The playback thread's question, answered at once: the file (held from eviction), or None.

        A file not there yet is downloaded now, on its own thread; the playback thread is woken
        when it arrives (see :class:`edge_agent.media_cache.Downloads`).
        """
        ref = self._ref(item)
        path = self.cache.hold(ref)
        if path is None:
            self.downloads.want(ref, item.start.timestamp(), now=True)
        return path

    def _downloaded(self, ref: MediaRef, path: Path | None) -> None:
        self.conductor.wake()
        self.conductor.look_ahead()  # the next item's file, arrived while another plays: decoded ahead
        if path is not None:  # evict and re-check faults; a failed file waits for the next round
            self._prefetch_wake.set()
        self._state_wake.set()

    def _upcoming(self) -> tuple[PlayItem, ...]:
        now = time.time()
        return tuple(i for i in self._items()
                     if (i.start.timestamp() + max(i.duration_s, 0) + self.config.player.late_tolerance_s >= now
                         or (i.late_until is not None and i.late_until.timestamp() > now))
                     and self.store.play_status(i.item_id) is None)

    def missing_media(self) -> list[str]:
        return [r.sha256 for r in self._refs(self._upcoming()) if not self.cache.has(r)]

    def _prefetch_loop(self) -> None:
        while not self._stop.is_set():
            self._prefetch_wake.wait(60)
            self._prefetch_wake.clear()
            if self._stop.is_set():
                return
            upcoming = self._upcoming()
            first_start: dict[str, float] = {}
            for item in upcoming:  # prioritised by start time: the earliest item's file first
                first_start.setdefault(item.sha256, item.start.timestamp())
            for ref in self._refs(upcoming):
                self.downloads.want(ref, first_start[ref.sha256])
            if not self.missing_media():
                self.faults.discard("disk_full")
            self.cache.evict(self._refs(self._items()))
            self._state_wake.set()

    def _media_error(self, ref: MediaRef, exc: MediaError) -> None:
        if exc.reason == "disk_full" and "disk_full" not in self.faults:
            self.faults.add("disk_full")
            self.emit("failed", None, reason="disk_full", sha256=ref.sha256)
            self._state_wake.set()

    # messages from the controller ----------------------------------------------------
    def _subscriptions(self) -> list[tuple[str, int]]:
        subs = [(protocol.keys_topic(), 1), (protocol.plan_topic(self.device_id), 1), (protocol.cmd_topic(self.device_id), 1),
                (protocol.ack_topic(self.device_id), 1), (protocol.heads_topic(), 1)]
        if self.plan:
            subs += [(protocol.group_cmd_topic(g), 1) for g in self.plan.groups]
        return subs

    def _on_message(self, topic: str, payload: bytes) -> None:
        with log_context(device_id=self.device_id):
            self._handle_message(topic, payload)

    def _handle_message(self, topic: str, payload: bytes) -> None:
        try:
            if is_keys_topic(topic):
                self._on_keys(payload)
                return
            if topic == protocol.heads_topic():
                self._on_heads(payload)
                return
            parsed = protocol.parse_topic(topic)
            if parsed.kind == "plan":
                self._on_plan(payload)
            elif parsed.kind == "cmd":
                self._on_command(payload)
            elif parsed.kind == "ack":
                self._on_ack(payload)
        except ProtocolError as exc:
            self._reject(topic, str(exc))

    def _reject(self, topic: str, why: str) -> None:
        self.security_rejections += 1
        log.warning("rejected message on %s: %s", topic, why)
        now = time.time()
        if now - self._last_security_event >= SECURITY_EVENT_INTERVAL_S:
            self._last_security_event = now
            self.emit("security", None, reason=f"rejected on {topic.rsplit('/', 1)[-1]}: {why}"[:400])
        self._state_wake.set()

    def _on_keys(self, payload: bytes) -> None:
        accepted = self.keys.apply_rollover(payload)
        if accepted:
            self.emit("security", None, reason=f"key rollover #{accepted.rollover.seq}: now trusting "
                                                f"{accepted.next_kid}, retired {accepted.rollover.retire_kid}")

    def _on_heads(self, payload: bytes) -> None:
        """Keep the controller's latest signed chain heads: a copy of history's fingerprint off its box."""
        heads = self.verifier.open(payload, protocol.ChainHeads)
        path = self.config.heads_copy_path
        try:
            kept = protocol.decode(path.read_bytes(), protocol.ChainHeads).seq if path.exists() else 0
        except (OSError, ProtocolError):
            kept = 0
        if heads.seq <= kept:
            return
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(payload)
        os.replace(tmp, path)
        log.info("kept signed chain heads #%d (%d chains)", heads.seq, len(heads.heads))

    def _on_plan(self, payload: bytes) -> None:
        plan = self.verifier.open(payload, Plan)
        if plan.device_id != self.device_id:
            raise ProtocolError(f"plan is for device {plan.device_id!r}")
        if self.plan is None:
            confirmed = self._confirm_first_plan(payload, plan)
            if confirmed is None:
                return
            payload, plan = confirmed
        with self._lock:
            current = self.plan.plan_version if self.plan else 0
            if plan.plan_version <= current:
                # Signed by the controller but not newer: a bridge re-sending a retained copy, or a broker
                # restored from an older save.  Harmless, and not an attack: ignored quietly.
                if plan.plan_version < current:
                    log.info("ignoring plan v%d: v%d already applied", plan.plan_version, current)
                return
            if plan.expires_at <= utcnow():
                raise ProtocolError(f"plan v{plan.plan_version} expired at {format_time(plan.expires_at)}")
            self.store.save_plan(plan.plan_version, payload)
            old_groups = set(self.plan.groups) if self.plan else set()
            old_items = self.plan.items if self.plan else ()
            self.plan = plan
        self._record_missed(old_items, plan)
        for g in old_groups - set(plan.groups):
            self.mqtt.unsubscribe(protocol.group_cmd_topic(g))
        for g in plan.groups:
            self.mqtt.subscribe(protocol.group_cmd_topic(g), 1)
        log.info("applied plan v%d with %d items", plan.plan_version, len(plan.items))
        self.store.forget_plays_before(time.time() - self.config.plays_days * 86400)
        self.emit("delivered", None, plan_version=plan.plan_version, reason=f"{len(plan.items)} items")
        self.conductor.plan_changed()
        self._prefetch_wake.set()
        self._volume_wake.set()
        self._state_wake.set()

    def _confirm_first_plan(self, payload: bytes, plan: Plan) -> tuple[bytes, Plan] | None:
        """A device without a plan of its own (new, or storage wiped) cannot tell a stale retained copy
        from the current plan: it asks the controller for its latest one and takes the newer.  With the
        controller out of reach it refuses a plan issued before its own enrollment, and takes the rest."""
        latest = self._controller_plan()
        if latest is not None and latest[1].plan_version > plan.plan_version:
            log.warning("the broker's plan v%d is stale; the controller's latest is v%d", plan.plan_version,
                        latest[1].plan_version)
            return latest
        if latest is None and self.config.enrolled_at:
            try:
                enrolled = protocol.parse_time(self.config.enrolled_at, "enrolled_at")
            except ProtocolError:
                enrolled = None
            if enrolled is not None and plan.issued_at < enrolled:
                log.warning("refusing plan v%d issued %s, before this device was enrolled", plan.plan_version,
                            protocol.format_time(plan.issued_at))
                return None
        return payload, plan

    def _controller_plan(self) -> tuple[bytes, Plan] | None:
        """The controller's latest signed plan for this device over the authenticated media channel, or None."""
        url = f"{self.config.controller_url.rstrip('/')}/device/plan?device={self.device_id}"
        req = urllib.request.Request(url)
        if self.cache.auth:
            req.add_header("Authorization", basic_auth(self.cache.auth))
        try:
            with urllib.request.urlopen(req, timeout=PLAN_CHECK_TIMEOUT_S, context=self.https) as resp:
                payload = resp.read(MAX_PLAN_BYTES)
            plan = self.verifier.open(payload, Plan)
        except (OSError, urllib.error.URLError, http.client.HTTPException, ProtocolError) as exc:
            log.info("could not check the plan with the controller: %s", exc)
            return None
        if plan.device_id != self.device_id:
            log.warning("the controller answered a plan for %s", plan.device_id)
            return None
        return payload, plan

    def _record_missed(self, old_items: tuple[PlayItem, ...], plan: Plan) -> None:
        """An item whose time passed unplayed is logged ``skipped`` with its reason, even when the new plan
        no longer lists it (the controller drops past items): otherwise it would leave no record at all."""
        kept = {i.item_id for i in plan.items}
        now = time.time()
        playing = self.conductor.now_playing
        for item in old_items:
            if item.item_id in kept or item.start.timestamp() >= now or self.store.play_status(item.item_id) is not None:
                continue
            if playing is not None and playing.item_id == item.item_id:
                continue
            self.store.mark_play(item.item_id, "skipped")
            self.emit("skipped", item, reason=self.conductor.skip_reason(item))

    def _on_command(self, payload: bytes) -> None:
        cmd = self.verifier.open(payload, Command)
        scope, _, ident = cmd.target.partition("/")
        groups = self.plan.groups if self.plan else ()
        if not ((scope == "dev" and ident == self.device_id) or (scope == "grp" and ident in groups)):
            raise ProtocolError(f"command for {cmd.target!r}")
        if cmd.expires_at <= utcnow():
            raise ProtocolError(f"command #{cmd.seq} expired")
        with self._lock:
            last = self.store.get_int("command_seq")
            if cmd.seq <= last:
                raise ProtocolError(f"replayed command #{cmd.seq} (have #{last})")
            self.store.set("command_seq", str(cmd.seq))
        log.info("command #%d %s from %s", cmd.seq, cmd.action, cmd.issued_by or "controller")
        self.execute(cmd)

    def execute(self, cmd: Command) -> None:
        if cmd.action == "play_now" and cmd.item is not None:
            self.conductor.preempt(cmd.item)
        elif cmd.action == "stop":
            self.conductor.stop_command(cmd.reason, cmd.item.item_id if cmd.item is not None else "")
        elif cmd.action == "set_volume" and cmd.volume is not None:
            self.volume.apply(cmd.volume)
        elif cmd.action == "kill_switch":
            self.kill_switch.engage(cmd.reason)
            self._silence_for_kill_switch()
        elif cmd.action == "lift_kill_switch":
            self.kill_switch.lift()
            self.conductor.wake()
        elif cmd.action == "update":
            self.updater.request(cmd.release)
        elif cmd.action == "restart_agent":
            log.warning("restart ordered by %s", cmd.issued_by or "the controller")
            self.request_stop()
        elif cmd.action == "reboot":
            self._request_reboot(cmd)
        elif cmd.action == "warm_up":
            if not self.kill_switch.active:
                self.conductor.warm_up(WARM_UP_HOLD_S)
        elif cmd.action == "diagnostics":
            threading.Thread(target=self._upload_diagnostics, name="diagnostics", daemon=True).start()
        elif cmd.action == "speaker_check" and cmd.item is not None:
            self._speaker_check(cmd)
        elif cmd.action == "register_key":
            threading.Thread(target=self._send_device_key, name="device-key", daemon=True).start()
        elif cmd.action == "resync":
            self._inflight = None
            self._send_wake.set()
            self._prefetch_wake.set()
        self._state_wake.set()

    def _request_reboot(self, cmd: Command) -> None:
        """Leave the request where the installer's ``loaxa-agent-reboot.path`` unit looks (the agent has no sudo)."""
        flag = self.config.data_dir / "reboot-requested"
        flag.write_text(f"{cmd.seq} {cmd.issued_by}\n")
        log.warning("reboot requested by %s (command #%d)", cmd.issued_by or "the controller", cmd.seq)

    def _speaker_check(self, cmd: Command) -> None:
        """The test tone at the command's volume; its ``finished`` event carries the capture level, if any."""
        if cmd.volume is not None:
            self.volume.apply(cmd.volume)
        self.conductor.preempt(cmd.item)

    def diagnostics(self) -> dict[str, Any]:
        from loaxa.agent_layout import Layout

        layout = Layout(self.config.update.install_root)
        releases = sorted(p.name for p in layout.releases.iterdir()) if layout.releases.is_dir() else []
        return {
            "device_id": self.device_id,
            "collected_at": format_time(utcnow()),
            "agent_version": __version__,
            "state": self.state().to_dict(),
            "store": diagnostics.store_stats(self.config.db_path, self.store),
            "releases": {"installed": releases, "current": layout.current_target(), "update": layout.read_marker(),
                         "floor": self.updater.floor},
        }

    def _send_device_key(self) -> None:
        """Asked by a signed command: the public half of this pole's key, over the authenticated media channel.

        For a pole enrolled before device keys: the controller takes it once, inside the
        command's window, so its events count again without a visit."""
        body = json.dumps({"public_key": protocol.public_key_to_text(self.device_key.public_key),
                           "proof": self.device_key.sign_detached(protocol.device_key_proof(self.device_id))}).encode()
        req = urllib.request.Request(f"{self.config.controller_url.rstrip('/')}/device/key", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        if self.cache.auth:
            req.add_header("Authorization", basic_auth(self.cache.auth))
        try:
            with urllib.request.urlopen(req, timeout=PLAN_CHECK_TIMEOUT_S, context=self.https) as resp:
                log.warning("device key %s registered with the controller (HTTP %d)", self.device_key.kid, resp.status)
        except (OSError, urllib.error.URLError, http.client.HTTPException) as exc:
            log.error("could not register device key %s with the controller: %s", self.device_key.kid, exc)

    def _upload_diagnostics(self) -> None:
        body = diagnostics.bounded(self.diagnostics(), self.recent_log.tail())
        if diagnostics.upload(self.config.controller_url, self.device_id, self.cache.auth, body, context=self.https):
            log.info("diagnostics uploaded (%d bytes)", len(body))

    def _silence_for_kill_switch(self) -> None:
        """Stop what plays now; an item counting down to its start sees the switch and is skipped."""
        self.conductor.stop_current("kill_switch")

    def _on_ack(self, payload: bytes) -> None:
        ack = self.verifier.open(payload, Ack)
        if ack.device_id != self.device_id:
            raise ProtocolError(f"ack for {ack.device_id!r}")
        if ack.epoch != self.store.epoch:
            log.info("ignoring ack for an older outbox epoch %s", ack.epoch)
            return
        removed = self.store.ack_events(ack.up_to_seq)
        with self._lock:
            if self._inflight and ack.up_to_seq >= self._inflight[0]:
                self._inflight = None
        if removed:
            log.debug("controller stored events up to #%d", ack.up_to_seq)
        self._send_wake.set()

    # events and state ------------------------------------------------------------------
    def emit(self, kind: str, item: PlayItem | None, **fields: Any) -> None:
        """Record a playback event durably; it is sent when the link allows."""
        actual = fields.pop("actual_start", None)
        event: dict[str, Any] = {
            "kind": kind,
            "recorded_at": format_time(utcnow()),
            "plan_version": fields.pop("plan_version", self.plan.plan_version if self.plan else 0),
        }
        if item is not None:
            event.update(item_id=item.item_id, broadcast_id=item.broadcast_id, sha256=item.sha256,
                         planned_at=format_time(item.start))
        if actual is not None:
            event["actual_start"] = format_time(datetime.fromtimestamp(actual, tz=timezone.utc))
        event.update({k: v for k, v in fields.items() if v not in (None, "", [])})
        seq = self.store.append_event(event)
        log.info("event #%d %s %s %s", seq, kind, event.get("item_id", ""), event.get("reason", ""),
                 extra={"device_id": self.device_id, "broadcast_id": event.get("broadcast_id"),
                        "item_id": event.get("item_id")})
        self._send_wake.set()

    def _on_connect(self) -> None:
        with self._lock:
            self._inflight = None
        self._send_wake.set()
        self._state_wake.set()

    def _sender_loop(self) -> None:
        while not self._stop.is_set():
            self._send_wake.wait(self.config.events_resend_s / 2)
            self._send_wake.clear()
            if self._stop.is_set() or not self.mqtt.connected.is_set():
                continue
            with self._lock:
                if self._inflight and time.time() - self._inflight[1] < self.config.events_resend_s:
                    continue
            pending = self.store.pending_events(OUTBOX_BATCH)
            if not pending:
                continue
            events = []
            for raw in pending:
                try:
                    events.append(PlaybackEvent.from_dict(raw))
                except ProtocolError as exc:
                    log.error("dropping unreadable outbox event #%s: %s", raw.get("seq"), exc)
                    self.store.delete_event(int(raw.get("seq", 0)))
            if not events:
                continue
            batch = EventBatch(device_id=self.device_id, epoch=self.store.epoch, events=tuple(events))
            with self._lock:
                self._inflight = (events[-1].seq, time.time())
            self.mqtt.publish(protocol.events_topic(self.device_id), self.device_key.seal(batch), qos=1)

    def state(self) -> DeviceState:
        playing = self.conductor.now_playing
        missing = self.missing_media()
        try:
            free = shutil.disk_usage(self.config.data_dir).free
        except OSError:
            free = 0
        return DeviceState(
            device_id=self.device_id,
            online=True,
            ts=utcnow(),
            agent_version=__version__,
            plan_version=self.plan.plan_version if self.plan else 0,
            media_ready=not missing,
            missing_media=tuple(missing),
            clock_offset_ms=None if self.clock.offset_ms is None else round(self.clock.offset_ms, 2),
            volume=self.volume.level,
            playing=playing.item_id if playing else "",
            relay_on=self.relay.is_on,
            cache_bytes=self.cache.cache_bytes(),
            free_disk_bytes=free,
            faults=tuple(sorted(self.faults)),
            security_rejections=self.security_rejections,
            kill_switch=self.kill_switch.active,
            update_state=self.updater.state,
            update_detail=self.updater.detail,
            started_at=self.started_at,
            boot_at=self.boot_at,
        )

    def _state_loop(self) -> None:
        while not self._stop.is_set():
            self._state_wake.wait(self.config.state_interval_s)
            self._state_wake.clear()
            if self._stop.is_set():
                return
            if self.mqtt.connected.is_set():
                self.mqtt.publish(protocol.state_topic(self.device_id), protocol.encode(self.state()), qos=1, retain=True)
