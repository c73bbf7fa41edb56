"""Emergency broadcasts: render now, one signed ``play_now`` per group topic, preempting playback.

An emergency does not wait for approval or a plan: it goes out as an immediate command on
the fewest group topics that cover the targets (``loaxa/v1/grp/<unit>/cmd``), so one publish
reaches a whole commune or province.  Devices subscribe to the groups their plan lists, and
preempt whatever plays (the interrupted item is logged ``interrupted`` by the agent).  Who
triggered it, why, and which commands were sent are kept in ``emergencies``.

A group publish reaches only the devices connected at that instant (a pole that was
knocked off or rebooting misses it), so delivery is confirmed per device: every
``emergency_resend_s`` the controller sends the same item again, on the device's own
command topic, to each device that has not yet reported it ``started``, until the item's
lifetime ends.  Devices still silent then are marked ``unreached`` and audited
(``emergency_unreached``).  A device behind a commune broker whose bridge to the province
is down cannot be reached at all: it is marked cut off at once (``cut_off_by``, audited
``emergency_cut_off``) so the page says so while the re-sends go on.  The agent never
plays an item twice, so a re-send after a
lost ``started`` is harmless.

A command lives only ``command_ttl_s``, so a cluster offline at that moment would never hear
it: the emergency also enters the targeted devices' plans as an item with ``late_until``
(``[alerts] emergency_late_minutes``), which a device that reconnects inside the window plays
at once, and one that already played it (same ``item_id``) never plays again.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import replace
from datetime import timedelta
from typing import Any, Callable

from controller.plans.broadcasts import MAX_NAME
from controller.plans.bulletins import Bulletins, new_id
from controller.db import Database
from controller.plans.dispatch import Dispatcher
from controller.errors import InputError
from controller.plan_expansion import load_tree
from controller.plans.records import Delivery, Emergency
from controller.devices.registry import Registry
from controller.reports.audit import AuditTrail
from controller.devices.broker_tree import BrokerTree
from loaxa.logs import log_context
from loaxa.protocol import PlayItem, canonical_json
from loaxa.wire_time import format_time, parse_time, utcnow

CONFIRMING_KINDS = ("started", "finished")

log = logging.getLogger(__name__)


class Emergencies:
    def __init__(self, db: Database, registry: Registry, bulletins: Bulletins, dispatcher: Dispatcher,
                 late_window: timedelta = timedelta(0), replan: Callable[[list[str]], Any] | None = None):
        self.db = db
        self.late_window = late_window
        self.replan = replan
        self.registry = registry
        self.bulletins = bulletins
        self.dispatcher = dispatcher
        self.audit = AuditTrail(db)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_unreached: list[Callable[[str, list[str]], Any]] = []  # told after the devices are marked

    def start(self) -> None:
        """Follow up on open emergencies in the background until :meth:`stop`."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._follow_loop, name="emergency-follow-up", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _follow_loop(self) -> None:
        interval = max(0.2, float(self.dispatcher.settings.emergency_resend_s))
        while not self._stop.wait(interval):
            try:
                self.follow_up()
            except Exception:  # noqa: BLE001 - the loop must outlive one bad round
                log.exception("emergency follow-up failed; retrying")

    def trigger(self, targets: Any, triggered_by: Any, *, text: Any = None, bulletin_id: Any = None,
                title: Any = "", reason: Any = "",
                on_stored: Callable[[Emergency], None] | None = None) -> Emergency:
        """Play a bulletin (existing, or rendered from ``text`` now) at once on every targeted device.

        ``on_stored`` gets the emergency's record inside the transaction that stores it.
        """
        if not isinstance(triggered_by, str) or not triggered_by.strip() or len(triggered_by) > MAX_NAME:
            raise InputError("invalid_person", "Cần ghi rõ người phát lệnh khẩn cấp.", "triggered_by")
        if not isinstance(reason, str) or len(reason) > 400:
            raise InputError("invalid_reason", "Lý do không hợp lệ (tối đa 400 ký tự).", "reason")
        if not isinstance(targets, list):
            raise InputError("invalid_targets", "Danh sách nơi phát không hợp lệ.", "targets")
        devices = self.registry.resolve_targets(targets)
        who = triggered_by.strip()
        if bulletin_id is not None:
            if text is not None:
                raise InputError("ambiguous_content", "Chọn bản tin có sẵn hoặc nhập nội dung, không cả hai.", "text")
            bulletin = self.bulletins.get(bulletin_id) if isinstance(bulletin_id, str) else None
            if bulletin is None:
                raise InputError("invalid_bulletin", "Chưa chọn bản tin.", "bulletin_id")
        elif text is not None:
            bulletin = self.bulletins.add(title if isinstance(title, str) else "", text, who)
        else:
            raise InputError("no_content", "Cần nội dung hoặc một bản tin có sẵn để phát khẩn cấp.", "text")
        media = bulletin.media
        if not media:
            raise InputError("no_media", "Bản tin chưa có âm thanh để phát.", "bulletin_id")

        now = utcnow()
        broadcast_id = new_id("em")
        item = PlayItem(item_id=broadcast_id, start=now, sha256=media.sha256, size=media.size, ext=media.ext,
                        duration_s=media.duration_s, priority="emergency",
                        volume=self.dispatcher.settings.emergency_min_volume,
                        expires_at=now + timedelta(seconds=self.dispatcher.settings.command_ttl_s),
                        broadcast_id=broadcast_id, title=bulletin.title[:200])
        late_until = now + self.late_window if self.late_window > timedelta(0) else None
        tree = load_tree(self.db)
        topics = sorted(("dev/" if tree.is_device(t) else "grp/") + t for t in tree.minimal_targets(targets))
        with self.db.tx() as db:
            db["broadcasts"].insert({
                "id": broadcast_id, "bulletin_id": bulletin.id, "starts_at": format_time(now),
                "ends_at": format_time(now + timedelta(seconds=media.duration_s)), "priority": "emergency",
                "targets_json": json.dumps(sorted(set(targets)), ensure_ascii=False), "status": "approved",
                "kind": "emergency", "created_at": format_time(now), "created_by": who, "decided_by": who,
                "decided_at": format_time(now), "decision_comment": reason, "updated_at": format_time(now),
                "late_until": format_time(late_until) if late_until else None,
            })
            db["broadcast_devices"].insert_all({"broadcast_id": broadcast_id, "device_id": d} for d in devices)
            db["broadcast_history"].insert({"broadcast_id": broadcast_id, "action": "emergency", "by": who,
                                            "comment": reason, "at": format_time(now)})
        with log_context(broadcast_id=broadcast_id):
            seqs = [self.dispatcher.send_command(t, "play_now", item=item, reason=reason, issued_by=who).seq
                    for t in topics]
            record = {"id": broadcast_id, "broadcast_id": broadcast_id, "triggered_by": who, "reason": reason,
                      "topics_json": json.dumps(topics), "command_seqs_json": json.dumps(seqs),
                      "sha256": media.sha256, "sent_at": format_time(now),
                      "expires_at": format_time(item.expires_at), "item_json": canonical_json(item.to_dict()).decode()}
            cut_off = {d: b for d, b in BrokerTree(self.db).cut_off_devices().items() if d in set(devices)}
            with self.db.tx() as db:
                db["emergencies"].insert(record)
                db["emergency_devices"].insert_all(
                    {"broadcast_id": broadcast_id, "device_id": d, "status": "pending", "sends": 1,
                     "last_sent_at": format_time(now), "cut_off_by": cut_off.get(d)} for d in devices)
                if cut_off:
                    self.audit.record("controller", "emergency_cut_off", broadcast_id,
                                      {"devices": sorted(cut_off), "brokers": sorted(set(cut_off.values()))})
                if on_stored is not None:
                    on_stored(self._view(record))
            log.warning("emergency %s by %s on %s: %s", broadcast_id, who, ", ".join(topics), reason)
            if cut_off:
                log.error("emergency %s cannot reach %d device(s) now: the bridge of %s is down", broadcast_id,
                          len(cut_off), ", ".join(sorted(set(cut_off.values()))))
        if late_until is not None and self.replan is not None:
            self.replan(devices)  # into the plans too, so a cluster offline now plays it when it reconnects
        return replace(self._view(record), bulletin_id=bulletin.id, devices=tuple(devices))

    def follow_up(self) -> None:
        """One round: confirm devices that reported the item started, re-send to the others, close expired ones."""
        now = utcnow()
        with self.db.tx() as db:
            open_ = list(db.query(
                "SELECT e.broadcast_id, e.expires_at, e.item_json FROM emergencies e WHERE e.item_json != '' "
                "AND EXISTS (SELECT 1 FROM emergency_devices d WHERE d.broadcast_id = e.broadcast_id "
                "AND d.status = 'pending')"))
        for em in open_:
            with log_context(broadcast_id=em["broadcast_id"]):
                self._follow(em, now)

    def _follow(self, em: dict[str, Any], now) -> None:
        bid = em["broadcast_id"]
        marks = ", ".join("?" * len(CONFIRMING_KINDS))
        unreached: list[str] = []
        with self.db.tx() as db:
            db.execute(
                f"""UPDATE emergency_devices SET status = 'confirmed', confirmed_at = (
                       SELECT MIN(received_at) FROM playback_events p WHERE p.device_id = emergency_devices.device_id
                       AND p.broadcast_id = emergency_devices.broadcast_id AND p.kind IN ({marks}))
                    WHERE broadcast_id = ? AND status = 'pending' AND EXISTS (
                       SELECT 1 FROM playback_events p WHERE p.device_id = emergency_devices.device_id
                       AND p.broadcast_id = emergency_devices.broadcast_id AND p.kind IN ({marks}))""",
                [*CONFIRMING_KINDS, bid, *CONFIRMING_KINDS])
            pending = list(db.query("SELECT device_id, last_sent_at FROM emergency_devices "
                                    "WHERE broadcast_id = ? AND status = 'pending' ORDER BY device_id", [bid]))
            if pending and now >= parse_time(em["expires_at"], "expires_at"):
                unreached = [p["device_id"] for p in pending]
                db.execute("UPDATE emergency_devices SET status = 'unreached' WHERE broadcast_id = ? "
                           "AND status = 'pending'", [bid])
                self.audit.record("controller", "emergency_unreached", bid, {"devices": unreached})
                log.warning("emergency %s expired before %d device(s) reported it started: %s", bid, len(unreached),
                            ", ".join(unreached))
        if unreached:
            for listener in self.on_unreached:
                listener(bid, unreached)
            return
        item = PlayItem.from_dict(json.loads(em["item_json"]))
        due = [p["device_id"] for p in pending
               if (now - parse_time(p["last_sent_at"], "last_sent_at")).total_seconds()
               >= self.dispatcher.settings.emergency_resend_s]
        for device_id in due:
            self.dispatcher.send_command(f"dev/{device_id}", "play_now", item=item, reason="emergency_resend",
                                         issued_by="controller", expires_at=item.expires_at)
            with self.db.tx() as db:
                db.execute("UPDATE emergency_devices SET sends = sends + 1, last_sent_at = ? "
                           "WHERE broadcast_id = ? AND device_id = ?", [format_time(now), bid, device_id])
        if due:
            log.info("emergency %s sent again to %d device(s) not yet confirmed", bid, len(due))

    def deliveries(self, broadcast_id: str) -> list[Delivery]:
        """Per device: ``pending`` (being re-sent), ``confirmed`` (it started) or ``unreached``."""
        with self.db.tx() as db:
            return [Delivery(**r) for r in db.query("SELECT device_id, status, sends, last_sent_at, confirmed_at, cut_off_by "
                                 "FROM emergency_devices "
                                 "WHERE broadcast_id = ? ORDER BY device_id", [broadcast_id])]

    def list(self, limit: int = 100) -> list[Emergency]:
        with self.db.tx() as db:
            rows = list(db.query("SELECT * FROM emergencies ORDER BY sent_at DESC LIMIT ?", [limit]))
        return [self._view(r) for r in rows]

    def _view(self, row: dict[str, Any]) -> Emergency:
        return Emergency(row["id"], row["broadcast_id"], row["triggered_by"], row["reason"], row["sha256"],
                         row["sent_at"], row["expires_at"], tuple(json.loads(row["topics_json"])),
                         tuple(json.loads(row["command_seqs_json"])), tuple(self.deliveries(row["broadcast_id"])))
