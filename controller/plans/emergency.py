"""Emergency broadcasts: render now, one signed ``play_now`` per group topic, preempting playback.

An emergency does not wait for approval or a plan: it goes out as an immediate command on
the fewest group topics that cover the targets (``loaxa/v1/grp/<unit>/cmd``), so one publish
reaches a whole commune or province.  Devices subscribe to the groups their plan lists, and
preempt whatever plays (the interrupted item is logged ``interrupted`` by the agent).  Who
triggered it, why, and which commands were sent are kept in ``emergencies``.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any, Callable

from controller.plans.broadcasts import MAX_NAME
from controller.plans.bulletins import Bulletins, new_id
from controller.db import Database
from controller.plans.dispatch import Dispatcher
from controller.errors import InputError
from controller.plans.planner import load_tree
from controller.devices.registry import Registry
from loaxa.logs import log_context
from loaxa.protocol import PlayItem, format_time, utcnow

log = logging.getLogger(__name__)


class Emergencies:
    def __init__(self, db: Database, registry: Registry, bulletins: Bulletins, dispatcher: Dispatcher):
        self.db = db
        self.registry = registry
        self.bulletins = bulletins
        self.dispatcher = dispatcher

    def trigger(self, targets: Any, triggered_by: Any, *, text: Any = None, bulletin_id: Any = None,
                title: Any = "", reason: Any = "",
                on_stored: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
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
        media = bulletin["media"]
        if not media:
            raise InputError("no_media", "Bản tin chưa có âm thanh để phát.", "bulletin_id")

        now = utcnow()
        broadcast_id = new_id("em")
        item = PlayItem(item_id=broadcast_id, start=now, sha256=media["sha256"], size=media["size"], ext=media["ext"],
                        duration_s=media["duration_s"], priority="emergency",
                        expires_at=now + timedelta(seconds=self.dispatcher.settings.command_ttl_s),
                        broadcast_id=broadcast_id, title=bulletin["title"][:200])
        tree = load_tree(self.db)
        topics = sorted(("dev/" if tree.is_device(t) else "grp/") + t for t in tree.minimal_targets(targets))
        with self.db.tx() as db:
            db["broadcasts"].insert({
                "id": broadcast_id, "bulletin_id": bulletin["id"], "starts_at": format_time(now),
                "ends_at": format_time(now + timedelta(seconds=media["duration_s"])), "priority": "emergency",
                "targets_json": json.dumps(sorted(set(targets)), ensure_ascii=False), "status": "approved",
                "kind": "emergency", "created_at": format_time(now), "created_by": who, "decided_by": who,
                "decided_at": format_time(now), "decision_comment": reason, "updated_at": format_time(now),
            })
            db["broadcast_devices"].insert_all({"broadcast_id": broadcast_id, "device_id": d} for d in devices)
            db["broadcast_history"].insert({"broadcast_id": broadcast_id, "action": "emergency", "by": who,
                                            "comment": reason, "at": format_time(now)})
        with log_context(broadcast_id=broadcast_id):
            seqs = [self.dispatcher.send_command(t, "play_now", item=item, reason=reason, issued_by=who).seq
                    for t in topics]
            record = {"id": broadcast_id, "broadcast_id": broadcast_id, "triggered_by": who, "reason": reason,
                      "topics_json": json.dumps(topics), "command_seqs_json": json.dumps(seqs),
                      "sha256": media["sha256"], "sent_at": format_time(now)}
            with self.db.tx() as db:
                db["emergencies"].insert(record)
                if on_stored is not None:
                    on_stored(_view(record))
            log.warning("emergency %s by %s on %s: %s", broadcast_id, who, ", ".join(topics), reason)
        return {**_view(record), "bulletin_id": bulletin["id"], "devices": devices}

    def list(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.db.tx() as db:
            return [_view(r) for r in db.query("SELECT * FROM emergencies ORDER BY sent_at DESC LIMIT ?", [limit])]


def _view(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["topics"] = json.loads(out.pop("topics_json"))
    out["command_seqs"] = json.loads(out.pop("command_seqs_json"))
    return out
