"""Live speech from the browser ("Phát trực tiếp"): who may, where, and what happens to it.

A session belongs to the person who started it and to its targets.  Starting one checks the
role (``live``), the scope of the targets, the kill switch, quiet hours (the same recorded
override as a broadcast's) and the sessions already on air: a second session on the same
speakers is refused unless it outranks the first, which it then ends.  The audio goes through
:class:`~controller.streaming.live_mixer.LiveMixer` to the session's own mount; every targeted
device gets a signed ``play_now`` command whose stream item carries the mount and the device's
own account.  The session ends when the speaker ends it, when the browser stops sending (a
closed tab: within ``idle_end_s``), when the kill switch is engaged, or when it outlasts
``MAX_LIVE_S``.  Then the outro plays, devices are told to stop that item once it has aired,
and the recording goes into the media store.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from controller.db import Database
from controller.errors import Conflict, InputError, NotFound, Refused
from controller.people import access
from controller.people.actor import Actor
from controller.ids import new_id
from controller.streaming.live_mixer import LiveMixer
from loaxa.protocol import PRIORITIES, DeviceState, PlayItem
from loaxa.wire_time import format_time, parse_time, utcnow
from schedules.broadcast import Override
from schedules.errors import ScheduleInputError

log = logging.getLogger(__name__)

MAX_LIVE_S = 3600.0
MAX_CHUNK_BYTES = 1 << 20
PLAYOUT_MARGIN_S = 4.0  # devices are stopped this long after the outro left the controller
REJOIN_AFTER_S = 10.0  # a device still idle this long after it was told is told again
MOUNT_WAIT_S = 3.0  # devices are told once the session's mount is up, or after this long
RANK = {p: i for i, p in enumerate(PRIORITIES)}


@dataclass(frozen=True)
class LiveSession:
    id: str
    started_by: str
    targets: tuple[str, ...]
    devices: tuple[str, ...]
    priority: str
    mount: str
    started_at: str
    ended_at: str | None = None
    end_reason: str = ""
    archive_sha256: str | None = None
    seconds: float | None = None
    override: dict[str, Any] | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["targets"], out["devices"] = list(self.targets), list(self.devices)
        out["active"] = self.ended_at is None
        out["archive_url"] = f"/api/live/{self.id}/recording" if self.archive_sha256 else None
        return out


def quiet_devices(db: Database, policy: Any, devices: list[str], now: datetime) -> list[str]:
    """The devices whose guardrails are in quiet hours now (a live session there needs an override)."""
    from controller.plans.planner import load_tree

    tree = load_tree(db)
    out = []
    for device_id in devices:
        g = policy.for_device(tree, device_id)
        if g.in_quiet_hours(now, now + timedelta(minutes=1)):
            out.append(device_id)
    return out


def _row(r: dict[str, Any]) -> LiveSession:
    return LiveSession(r["id"], r["started_by"], tuple(json.loads(r["targets_json"])), tuple(json.loads(r["devices_json"])),
                       r["priority"], r["mount"], r["started_at"], r["ended_at"], r["end_reason"], r["archive_sha256"],
                       r["seconds"], json.loads(r["override_json"]) if r["override_json"] else None)


class LiveSessions:
    """The live sessions of one controller (the use cases behind ``/api/live``)."""

    def __init__(self, db: Database, streaming: Any, registry: Any, audit: Any,
                 send_command: Callable[..., Any], kill_switch_on: Callable[[str], bool],
                 quiet_now: Callable[[list[str], datetime], list[str]], media_dir: Path, idle_end_s: float = 5.0):
        self.db = db
        self.streaming = streaming
        self.registry = registry
        self.audit = audit
        self.send_command = send_command
        self.kill_switch_on = kill_switch_on
        self.quiet_now = quiet_now
        self.media_dir = media_dir
        self.idle_end_s = idle_end_s
        self._mixers: dict[str, LiveMixer] = {}
        self._last_chunk: dict[str, float] = {}
        self._began: dict[str, float] = {}
        self._items: dict[str, dict[str, PlayItem]] = {}  # per session, the item each device was told to air
        self._told_at: dict[tuple[str, str], float] = {}  # (session, device) -> when its play_now last left
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._watch: threading.Thread | None = None

    def start_watch(self) -> None:
        self._watch = threading.Thread(target=self._watch_loop, name="live-watch", daemon=True)
        self._watch.start()

    def shutdown(self) -> None:
        self._stop.set()
        for session_id in list(self._mixers):
            self._end(session_id, "shutdown", None)

    # queries --------------------------------------------------------------------------------
    def get(self, session_id: str) -> LiveSession:
        with self.db.tx() as db:
            rows = list(db.query("SELECT * FROM live_sessions WHERE id = ?", [session_id]))
        if not rows:
            raise NotFound("unknown_live_session", f"Không có phiên phát trực tiếp '{session_id}'.")
        return _row(rows[0])

    def recent(self, actor: Actor, limit: int = 50) -> list[LiveSession]:
        with self.db.tx() as db:
            rows = list(db.query("SELECT * FROM live_sessions ORDER BY started_at DESC LIMIT ?", [limit]))
        return [s for s in map(_row, rows) if actor.scope.covers(s.devices)]

    def mixer(self, session_id: str) -> LiveMixer | None:
        return self._mixers.get(session_id)

    # use cases ------------------------------------------------------------------------------
    def start(self, actor: Actor, targets: Any, priority: Any = "priority", override: Any = None) -> LiveSession:
        access.require_permission(actor, "live")
        access.require_targets(actor, targets)
        if priority not in PRIORITIES:
            raise InputError("invalid_priority", "Mức ưu tiên phải là thường, ưu tiên hoặc khẩn cấp.", "priority")
        if priority == "emergency":
            access.require_permission(actor, "emergency")
        if not self.streaming.running:
            raise Refused("streaming_off", "Máy chủ phát trực tiếp (Icecast) chưa bật trên máy điều khiển.")
        devices = self.registry.resolve_targets(targets)
        blocked = [d for d in devices if self.kill_switch_on(d)]
        if blocked:
            raise Refused("kill_switch", f"Các cụm loa {', '.join(blocked)} đang bị khóa phát; hãy mở khóa trước.",
                          "targets")
        recorded = self._override(override)
        quiet = self.quiet_now(devices, utcnow())
        if quiet and recorded is None:
            raise Refused("quiet_hours", f"Đang trong giờ yên tĩnh ở {', '.join(quiet)}. Muốn phát trực tiếp phải ghi "
                                         "ngoại lệ: người quyết định và lý do.", "override")
        with self._lock:
            self._make_room(set(devices), priority, actor)
            session_id = new_id("live")
            session = LiveSession(session_id, actor.username, tuple(sorted(set(targets))), tuple(devices), priority,
                                  f"/{session_id}.ogg", format_time(utcnow()), override=recorded)
            with self.db.tx() as db:
                db["live_sessions"].insert({
                    "id": session.id, "started_by": session.started_by, "targets_json": json.dumps(list(session.targets)),
                    "devices_json": json.dumps(list(devices)), "priority": priority, "mount": session.mount,
                    "started_at": session.started_at, "ended_at": None, "end_reason": "", "archive_sha256": None,
                    "seconds": None, "override_json": json.dumps(recorded, ensure_ascii=False) if recorded else ""})
                self.audit.record(actor, "live_started", session.id,
                                  {"targets": list(session.targets), "priority": priority, "override": recorded})
            mixer = LiveMixer(self.streaming.source_target(session.mount), self._archive_pcm(session.id)).start()
            self._mixers[session.id] = mixer
            self._last_chunk[session.id] = self._began[session.id] = time.monotonic()
        if not self.streaming.wait_mounted(session.mount, MOUNT_WAIT_S):
            log.warning("live %s: the mount was not up within %.0f s; devices join when it is", session.id, MOUNT_WAIT_S)
        self._tell_devices(session)
        log.info("live session %s by %s on %d devices", session.id, actor.username, len(devices))
        return session

    def feed(self, actor: Actor, session_id: str, data: bytes) -> None:
        """A chunk of the speaker's recording; only the person who started the session may send it."""
        session = self.get(session_id)
        if session.started_by != actor.username:
            raise Refused("not_your_session", "Chỉ người bắt đầu phiên mới gửi được tiếng vào phiên này.")
        if len(data) > MAX_CHUNK_BYTES:
            raise InputError("chunk_too_large", "Đoạn âm thanh gửi lên quá lớn.", "audio")
        mixer = self._mixers.get(session_id)
        if mixer is None or not mixer.feed(data):
            raise Conflict("live_ended", "Phiên phát trực tiếp đã kết thúc.")
        self._last_chunk[session_id] = time.monotonic()

    def end(self, actor: Actor, session_id: str) -> LiveSession:
        session = self.get(session_id)
        if session.started_by != actor.username:
            access.require_permission(actor, "emergency")
            access.require_devices(actor, session.devices)
        return self._end(session_id, "ended", actor)

    # inside ---------------------------------------------------------------------------------
    def _override(self, override: Any) -> dict[str, Any] | None:
        if not override:
            return None
        try:
            return Override.from_dict(override).to_dict()
        except (ScheduleInputError, TypeError, AttributeError, KeyError, ValueError) as exc:
            raise InputError("invalid_override", getattr(exc, "message", "Ngoại lệ không hợp lệ."), "override") from None

    def _make_room(self, devices: set[str], priority: str, actor: Actor) -> None:
        for other_id in list(self._mixers):
            other = self.get(other_id)
            if not devices & set(other.devices):
                continue
            if RANK[priority] <= RANK[other.priority]:
                raise Conflict("live_busy", f"Đang có phiên phát trực tiếp của {other.started_by} trên các cụm loa này. "
                                            "Chỉ phiên có mức ưu tiên cao hơn mới được chen vào.", "targets")
            self._end(other_id, "outranked", actor, wait=False)

    def _tell_devices(self, session: LiveSession) -> None:
        for device_id in session.devices:
            self._tell(session, device_id)

    def _tell(self, session: LiveSession, device_id: str) -> bool:
        """Send ``device_id`` the session's signed ``play_now``: the same item every time, so a device
        that already airs it ignores the repeat; the stream's live point is where it joins."""
        told = self._items.setdefault(session.id, {})
        item = told.get(device_id)
        if item is None:
            ref = self.streaming.stream_ref_for_mount(device_id, session.mount)
            if ref is None:
                log.warning("live %s: %s has no stream account", session.id, device_id)
                return False
            start = parse_time(session.started_at, "started_at")
            item = PlayItem(item_id=session.id, start=start, sha256="", size=0, duration_s=MAX_LIVE_S,
                            priority=session.priority, broadcast_id=session.id, title="Phát trực tiếp", stream=ref,
                            expires_at=start + timedelta(seconds=MAX_LIVE_S + 60))
            told[device_id] = item
        self._told_at[(session.id, device_id)] = time.monotonic()
        self.send_command(f"dev/{device_id}", "play_now", item=item, issued_by=session.started_by)
        return True

    def on_state(self, device_id: str, state: DeviceState, was_online: bool) -> None:
        """A device that missed a session's command joins it: desired state, as volume and kill switch do.

        Commands are not kept for a device that is offline (its broker session is clean), so a
        pole that was cut off when the session started would stay silent through it.  When such a
        device reports again (back online, or idle ``REJOIN_AFTER_S`` after it was told), it gets
        the session's command again and joins at the live point.  A device airing something else
        is left alone: an emergency there must not be cut by a live session.  Never raises.
        """
        if not state.online or state.playing:
            return
        try:
            with self._lock:
                live = list(self._mixers)
            now = time.monotonic()
            for session_id in live:
                session = self.get(session_id)
                if device_id not in session.devices or session.ended_at is not None:
                    continue
                last = self._told_at.get((session_id, device_id))
                if was_online and last is not None and now - last < REJOIN_AFTER_S:
                    continue  # told moments ago: it may still be connecting to the stream
                if self._tell(session, device_id):
                    log.info("live %s: %s told again (%s)", session_id, device_id,
                             "back online" if not was_online else "still idle")
        except Exception:  # noqa: BLE001 - reconciliation must not take the ingest loop down
            log.exception("live rejoin failed for %s", device_id)

    def _end(self, session_id: str, reason: str, actor: Actor | None, wait: bool = True) -> LiveSession:
        with self._lock:
            mixer = self._mixers.pop(session_id, None)
            self._last_chunk.pop(session_id, None)
            self._began.pop(session_id, None)
        session = self.get(session_id)
        if mixer is None:
            return session
        if reason == "kill_switch":
            mixer.kill()
        else:
            mixer.finish()
        finisher = threading.Thread(target=self._finish, args=(session, mixer, reason, actor), name="live-end",
                                    daemon=True)
        finisher.start()
        if wait:
            finisher.join(timeout=15)
        return self.get(session_id)

    def _finish(self, session: LiveSession, mixer: LiveMixer, reason: str, actor: Actor | None) -> None:
        mixer.done.wait(timeout=30)
        sha = self._archive(session.id)
        with self.db.tx() as db:
            db["live_sessions"].update(session.id, {"ended_at": format_time(utcnow()), "end_reason": reason,
                                                    "archive_sha256": sha, "seconds": round(mixer.seconds_on_air, 2)})
            self.audit.record(actor.username if actor else "system", "live_ended", session.id,
                              {"reason": reason, "seconds": round(mixer.seconds_on_air, 1), "archive_sha256": sha})
        if reason != "kill_switch":
            self._stop.wait(PLAYOUT_MARGIN_S)  # the outro is still in the devices' buffers
        busy = {d for other in list(self._mixers) for d in self.get(other).devices}  # taken by the session that outranked it
        told = self._items.pop(session.id, {})
        for device_id in told:
            self._told_at.pop((session.id, device_id), None)
        for device_id, item in told.items():
            if device_id not in busy:  # the stop names the item: a device airing something else goes on
                self.send_command(f"dev/{device_id}", "stop", item=item, reason=f"live_{reason}",
                                  issued_by=session.started_by)
        log.info("live session %s ended (%s) after %.1f s", session.id, reason, mixer.seconds_on_air)

    def _archive_pcm(self, session_id: str) -> Path:
        return self.media_dir / ".live" / f"{session_id}.pcm"

    def _archive(self, session_id: str) -> str | None:
        """The recording as Opus in the media store (what an auditor listens to); None if nothing was recorded."""
        pcm = self._archive_pcm(session_id)
        if not pcm.exists() or pcm.stat().st_size == 0:
            return None
        out = pcm.with_suffix(".ogg")
        proc = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "s16le", "-ar",
                               "48000", "-ac", "1", "-i", str(pcm), "-c:a", "libopus", "-b:a", "32k", str(out)],
                              capture_output=True)
        if proc.returncode != 0:
            log.error("live %s: archive failed: %s", session_id, proc.stderr.decode(errors="replace")[-300:])
            return None
        data = out.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        final = self.media_dir / f"{sha}.ogg"
        out.replace(final)
        seconds = pcm.stat().st_size / (48000 * 2)
        pcm.unlink()
        with self.db.tx() as db:
            db["media"].insert({"sha256": sha, "ext": "ogg", "size": len(data), "duration_s": seconds, "engine": "live",
                                "created_at": format_time(utcnow()), "fallback_sha256": ""}, replace=True)
        return sha

    def recording(self, actor: Actor, session_id: str) -> Path:
        """The archived recording, for people who may audit the session's devices."""
        access.require_permission(actor, "audit")
        session = self.get(session_id)
        access.require_devices(actor, session.devices)
        if not session.archive_sha256:
            raise NotFound("no_recording", "Phiên này chưa có bản ghi âm.")
        return self.media_dir / f"{session.archive_sha256}.ogg"

    def _watch_loop(self) -> None:
        """A closed tab sends nothing: the session ends with its outro; so it does under a kill switch."""
        while not self._stop.wait(0.5):
            now = time.monotonic()
            for session_id, last in list(self._last_chunk.items()):
                try:
                    session = self.get(session_id)
                    if any(self.kill_switch_on(d) for d in session.devices):
                        self._end(session_id, "kill_switch", None, wait=False)
                    elif now - last > self.idle_end_s:
                        self._end(session_id, "browser_gone", None, wait=False)
                    elif now - self._began.get(session_id, now) > MAX_LIVE_S:
                        self._end(session_id, "too_long", None, wait=False)
                except Exception:  # noqa: BLE001 - the watch must go on for the other sessions
                    log.exception("live watch failed for %s", session_id)
