"""Broadcasts: a bulletin scheduled by a rule on a set of targets, with its approval status.

Every broadcast is checked by the scheduling domain (guardrails, caps, overlaps, past times)
before it is stored, and again when it is approved, because other broadcasts may have been
approved in between.  Only ``approved`` broadcasts go into device plans.  Every change is
kept in ``broadcast_history`` with who did it.

Status flow: ``draft`` → ``pending_approval`` → ``approved`` | ``rejected``; anything not
yet rejected can be ``cancelled``; an edit sends it back to ``pending_approval``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Callable

from controller.plans.bulletins import new_id
from controller.plans.records import Broadcast, BroadcastChange
from controller.db import Database
from controller.errors import Conflict, InputError, NotFound, Refused
from controller.people.access import Authorship
from controller.plan_expansion import PLAYABLE_S, domain_broadcast, load_tree, once_at, rule_of
from controller.devices.registry import Registry
from controller.plans.timeparse import parse_user_time
from loaxa.local_time import to_local
from loaxa.protocol import PRIORITIES
from loaxa.wire_time import format_time, utcnow
from schedules.broadcast import IN_THE_PAST, NO_OCCURRENCES, Override
from schedules.check import Refusal, check_broadcast
from schedules.errors import ScheduleInputError
from schedules.guardrails import GuardrailPolicy
from schedules.rules import BroadcastRule, parse_rule_vi

STATUSES = ("draft", "pending_approval", "approved", "rejected", "cancelled")
EDITABLE = ("draft", "pending_approval", "approved")
MAX_NAME = 200


def _domain(exc: ScheduleInputError) -> InputError:
    return InputError(exc.code, exc.message, exc.field)


def refusal_error(refusals: list[Refusal], field: str) -> InputError:
    """The domain's refusals as one API error: the first one's message and code, all in ``details``."""
    first = refusals[0]
    cls = InputError if first.code in (IN_THE_PAST, NO_OCCURRENCES) else Conflict
    return cls(first.code, first.message_vi, field, [r.to_dict() for r in refusals])


def _person(value: Any, field: str, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > MAX_NAME or (required and not value.strip()):
        raise InputError("invalid_person", "Cần ghi rõ tên người thực hiện (tối đa 200 ký tự).", field)
    return value.strip()


def _offset(rule: Any) -> float:
    """Seconds after each slot's minute: machines (and tests) may ask for them; people write minutes."""
    value = rule.get("offset_s", 0) if isinstance(rule, dict) else 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 60:
        raise InputError("invalid_offset", "offset_s phải là số giây từ 0 đến dưới 60.", "rule.offset_s")
    return float(value)


class Broadcasts:
    def __init__(self, db: Database, registry: Registry, policy: Callable[[], GuardrailPolicy],
                 auto_approve: bool = False):
        self.db = db
        self.registry = registry
        self.policy = policy
        self.auto_approve = auto_approve

    # creating and editing -------------------------------------------------------------
    def schedule(self, bulletin_id: Any, starts_at: Any = None, targets: Any = None, priority: Any = "normal",
                 created_by: Any = "", now: datetime | None = None, **spec: Any) -> Broadcast:
        """Validate, check against the guardrails and store a new broadcast; nothing is stored on refusal."""
        now = now or utcnow()
        fields = self._validated(
            {"bulletin_id": bulletin_id, "starts_at": starts_at, "targets": targets, "priority": priority, **spec}, now,
            exclude=None,
        )
        by = _person(created_by, "created_by", required=False)
        status = "draft" if spec.get("draft") is True else "approved" if self.auto_approve else "pending_approval"
        row = {"id": new_id("bc"), **fields, "kind": "scheduled", "status": status, "created_at": format_time(now),
               "created_by": by, "updated_at": format_time(now)}
        if status == "approved":
            row.update(decided_by="auto_approve", decided_at=format_time(now))
        with self.db.tx() as db:
            devices = row.pop("_devices")
            db["broadcasts"].insert(row)
            db["broadcast_devices"].insert_all({"broadcast_id": row["id"], "device_id": d} for d in devices)
            self._history(db, row["id"], "create", by, status, now)
        return self.get(row["id"])

    def edit(self, broadcast_id: str, changes: dict[str, Any], by: Any = "", now: datetime | None = None) -> Broadcast:
        """Change a broadcast; it is checked again and (unless a draft) goes back to approval."""
        now = now or utcnow()
        current = self._row(broadcast_id)
        if current["status"] not in EDITABLE or current["kind"] != "scheduled":
            raise Conflict("not_editable", f"Lịch phát đang ở trạng thái '{current['status']}', không sửa được.", "status")
        merged = {"bulletin_id": current["bulletin_id"], "targets": json.loads(current["targets_json"]),
                  "priority": current["priority"], "order": current["order_no"],
                  "override": json.loads(current["override_json"]) if current["override_json"] else None}
        if not any(k in changes for k in ("starts_at", "rule", "rule_text")):
            merged["rule"] = json.loads(current["rule_json"] or "{}") or None
            merged["starts_at"] = None if merged["rule"] else current["starts_at"]
        merged.update(changes)
        fields = self._validated(merged, now, exclude=broadcast_id)
        who = _person(by, "by", required=False)
        status = current["status"] if current["status"] == "draft" else "approved" if self.auto_approve else "pending_approval"
        devices = fields.pop("_devices")
        fields.update(status=status, updated_at=format_time(now), decided_by="auto_approve" if status == "approved" else "",
                      decided_at=format_time(now) if status == "approved" else None, decision_comment="")
        with self.db.tx() as db:
            db["broadcasts"].update(broadcast_id, fields)
            db.execute("DELETE FROM broadcast_devices WHERE broadcast_id = ?", [broadcast_id])
            db["broadcast_devices"].insert_all({"broadcast_id": broadcast_id, "device_id": d} for d in devices)
            self._history(db, broadcast_id, "edit", who, status, now)
        return self.get(broadcast_id)

    def _validated(self, d: dict[str, Any], now: datetime, exclude: str | None) -> dict[str, Any]:
        bulletin_id = d.get("bulletin_id")
        if not isinstance(bulletin_id, str):
            raise InputError("invalid_bulletin", "Chưa chọn bản tin.", "bulletin_id")
        with self.db.tx() as db:
            media = db.execute(
                f"SELECT {PLAYABLE_S} FROM bulletins b LEFT JOIN media m ON m.sha256 = b.media_sha256 "
                f"WHERE b.id = ? AND {PLAYABLE_S} IS NOT NULL", [bulletin_id]).fetchone()
            known = db["bulletins"].count_where("id = ?", [bulletin_id])
        if not known:
            raise InputError("unknown_bulletin", f"Không có bản tin '{bulletin_id}'.", "bulletin_id")
        if media is None:
            raise InputError("no_media", "Bản tin chưa có âm thanh để phát.", "bulletin_id")
        priority = d.get("priority", "normal")
        if priority not in PRIORITIES:
            raise InputError("invalid_priority", "Mức ưu tiên phải là thường, ưu tiên hoặc khẩn cấp.", "priority")
        order = d.get("order", 0) or 0
        if isinstance(order, bool) or not isinstance(order, int):
            raise InputError("invalid_order", "Thứ tự phát phải là số nguyên.", "order")
        targets = d.get("targets")
        if not isinstance(targets, list):
            raise InputError("invalid_targets", "Danh sách nơi phát không hợp lệ.", "targets")
        devices = self.registry.resolve_targets(targets)
        rule, offset, field = self._rule(d, now)
        try:
            override = Override.from_dict(d["override"]) if d.get("override") else None
        except ScheduleInputError as exc:
            raise _domain(exc) from None
        row = {"id": exclude or "new", "rule_json": json.dumps({**rule.to_dict(), "offset_s": offset}),
               "targets_json": json.dumps(sorted(set(targets)), ensure_ascii=False), "priority": priority,
               "order_no": order, "override_json": json.dumps(override.to_dict()) if override else "", "title": ""}
        try:
            new = domain_broadcast({**row, "id": exclude or "bc-new"}, media[0])
            existing = self._domain_existing(("approved", "pending_approval"))
            refusals = check_broadcast(new, existing, load_tree(self.db), self.policy(),
                                       now.replace(second=0, microsecond=0))
        except ScheduleInputError as exc:
            raise _domain(exc) from None
        if refusals:
            raise refusal_error(refusals, field)
        slots = rule.all_occurrences()
        first = slots[0] + timedelta(seconds=offset)
        last = slots[-1] + timedelta(seconds=offset + new.run_s)
        row.pop("id")
        row.pop("title")
        return {**row, "bulletin_id": bulletin_id, "starts_at": format_time(first), "ends_at": format_time(last),
                "_devices": devices}

    def _rule(self, d: dict[str, Any], now: datetime) -> tuple[BroadcastRule, float, str]:
        """The rule from ``starts_at`` (one exact instant), ``rule`` (a mapping) or ``rule_text`` (Vietnamese)."""
        repeats = d.get("repeats", 1)
        gap = d.get("repeat_gap_s", 0)
        if isinstance(gap, bool) or not isinstance(gap, (int, float)):
            raise InputError("invalid_repeat_gap", "Khoảng nghỉ giữa các lần phát phải là số giây.", "repeat_gap_s")
        try:
            if d.get("rule_text") is not None:
                rule = parse_rule_vi(d["rule_text"], default_year=to_local(now).year)
                return rule, 0.0, "rule_text"
            if d.get("rule") is not None:
                return BroadcastRule.from_dict(d["rule"]), _offset(d["rule"]), "rule"
            start = parse_user_time(d.get("starts_at"), "starts_at")
            if start < now - timedelta(seconds=1):
                raise InputError(
                    IN_THE_PAST,
                    f"Thời gian phát {to_local(start):%H:%M ngày %d/%m/%Y} đã qua; hãy chọn thời điểm trong tương lai.",
                    "starts_at",
                )
            rule, offset = once_at(start)
            if repeats != 1 or gap:
                rule = BroadcastRule(rule.start_date, rule.end_date, rule.slot_times, repeats=repeats,
                                     repeat_gap=timedelta(seconds=gap))
            return rule, offset, "starts_at"
        except ScheduleInputError as exc:
            raise _domain(exc) from None

    def _domain_existing(self, statuses: tuple[str, ...], now: datetime | None = None) -> list:
        marks = ",".join("?" * len(statuses))
        since = format_time((now or utcnow()) - timedelta(days=1))
        with self.db.tx() as db:
            rows = list(db.query(
                f"""SELECT bc.*, {PLAYABLE_S} AS duration_s FROM broadcasts bc JOIN bulletins b ON b.id = bc.bulletin_id
                    LEFT JOIN media m ON m.sha256 = b.media_sha256
                    WHERE bc.kind = 'scheduled' AND bc.status IN ({marks}) AND COALESCE(bc.ends_at, bc.starts_at) >= ?
                      AND {PLAYABLE_S} IS NOT NULL""",
                [*statuses, since]))
        return [domain_broadcast(r, r["duration_s"]) for r in rows]

    # approval -------------------------------------------------------------------------
    def submit(self, broadcast_id: str, by: Any = "", now: datetime | None = None) -> Broadcast:
        return self._transition(broadcast_id, ("draft",), "pending_approval", "submit", _person(by, "by", False), "", now)

    def approve(self, broadcast_id: str, approver: Any, comment: Any = "", now: datetime | None = None) -> Broadcast:
        """Approve, after checking again against everything approved since it was entered.

        Who may approve (the two-person rule) is the use case's check
        (:func:`controller.plans.use_cases.approve_broadcast`), made before this.
        """
        now = now or utcnow()
        who = _person(approver, "approver")
        row = self._row(broadcast_id)
        if row["status"] == "pending_approval":
            with self.db.tx() as db:
                duration = db.execute(f"SELECT {PLAYABLE_S} FROM bulletins b LEFT JOIN media m ON m.sha256 = b.media_sha256 "
                                      "WHERE b.id = ?", [row["bulletin_id"]]).fetchone()[0]
            try:
                refusals = check_broadcast(domain_broadcast(row, duration), self._domain_existing(("approved",), now),
                                           load_tree(self.db), self.policy(), now.replace(second=0, microsecond=0))
            except ScheduleInputError as exc:
                raise _domain(exc) from None
            if refusals:
                raise refusal_error(refusals, "status")
        return self._transition(broadcast_id, ("pending_approval",), "approved", "approve", who, comment, now)

    def authorship(self, broadcast_id: str) -> Authorship:
        """Who drafted the broadcast, wrote its bulletin and changed it last (for the two-person rule)."""
        row = self._row(broadcast_id)
        with self.db.tx() as db:
            bulletin = db.execute("SELECT created_by FROM bulletins WHERE id = ?", [row["bulletin_id"]]).fetchone()
            last = db.execute("SELECT by FROM broadcast_history WHERE broadcast_id = ? AND action IN ('create', 'edit') "
                              "ORDER BY id DESC LIMIT 1", [row["id"]]).fetchone()
        return Authorship(row["created_by"], bulletin[0] if bulletin else "", last[0] if last else "")

    def reject(self, broadcast_id: str, approver: Any, comment: Any = "", now: datetime | None = None) -> Broadcast:
        return self._transition(broadcast_id, ("draft", "pending_approval"), "rejected", "reject",
                                _person(approver, "approver"), comment, now)

    def cancel(self, broadcast_id: str, by: Any = "", now: datetime | None = None) -> Broadcast:
        """Cancel what has not aired; an emergency that started stays on the record as sent."""
        row = self._row(broadcast_id)
        if row["priority"] == "emergency" and (row["kind"] == "emergency"
                                               or row["starts_at"] <= format_time(now or utcnow())):
            raise Conflict("already_aired", "Lệnh khẩn cấp đã phát, không thể ghi là đã hủy; "
                                            "để dừng loa, hãy dùng công tắc dừng khẩn.", "status")
        return self._transition(broadcast_id, EDITABLE, "cancelled", "cancel", _person(by, "by", False), "", now)

    def withdraw(self, broadcast_id: str, by: Any = "", now: datetime | None = None) -> Broadcast:
        """Take a submitted broadcast back to draft before anyone decided on it."""
        return self._transition(broadcast_id, ("pending_approval",), "draft", "withdraw", _person(by, "by", False), "", now)

    def cancel_occurrence(self, broadcast_id: str, at: Any, by: Any, reason: Any,
                          now: datetime | None = None) -> Broadcast:
        """Cancel one occurrence (the slot opening ``at``) of a recurring or multi-slot broadcast; the rest still air.

        The instant joins the rule's ``cancelled`` set, so every later expansion (device
        plans, readiness, the calendar) leaves it out, and the logbook shows it as cancelled.
        """
        now = now or utcnow()
        if not isinstance(reason, str) or len(reason.strip()) < 5 or len(reason) > 500:
            raise InputError("invalid_reason", "Hãy ghi lý do hủy buổi phát (ít nhất 5 ký tự).", "reason")
        instant = parse_user_time(at, "at")
        with self.db.tx() as db:
            row = self._row(broadcast_id)
            if row["kind"] != "scheduled" or row["status"] not in EDITABLE:
                raise Conflict("not_editable", f"Lịch phát đang ở trạng thái '{row['status']}', không hủy được buổi nào.",
                               "status")
            rule, offset = rule_of(row)
            # Rules are whole minutes: the nearest one, whatever precision the instant travelled with.
            slot = (instant - timedelta(seconds=offset - 30)).replace(second=0, microsecond=0)
            if instant < now:
                raise InputError(IN_THE_PAST, f"Buổi phát lúc {to_local(instant):%H:%M ngày %d/%m/%Y} đã qua.", "at")
            try:
                smaller = rule.without(slot)
            except ScheduleInputError as exc:
                raise _domain(exc) from None
            if not smaller.all_occurrences():
                raise Conflict("last_occurrence", "Đây là buổi phát cuối cùng của lịch; hãy hủy cả lịch phát.", "at")
            db["broadcasts"].update(broadcast_id, {"rule_json": json.dumps({**smaller.to_dict(), "offset_s": offset}),
                                                   "updated_at": format_time(now)})
            self._history(db, broadcast_id, "cancel_occurrence", _person(by, "by", False),
                          f"{format_time(instant)} {reason.strip()}", now)
        return self.get(broadcast_id)

    def _transition(self, broadcast_id: str, allowed: tuple[str, ...], status: str, action: str, by: str,
                    comment: Any, now: datetime | None) -> Broadcast:
        now = now or utcnow()
        if comment is None:
            comment = ""
        if not isinstance(comment, str) or len(comment) > 2000:
            raise InputError("invalid_comment", "Ý kiến không hợp lệ (tối đa 2000 ký tự).", "comment")
        with self.db.tx() as db:
            row = self._row(broadcast_id)
            if row["status"] not in allowed:
                raise Conflict("invalid_status",
                               f"Lịch phát đang ở trạng thái '{row['status']}', không thể chuyển sang '{status}'.", "status")
            changes: dict[str, Any] = {"status": status, "updated_at": format_time(now)}
            if action in ("approve", "reject"):
                changes.update(decided_by=by, decided_at=format_time(now), decision_comment=comment.strip())
            db["broadcasts"].update(broadcast_id, changes)
            self._history(db, broadcast_id, action, by, comment.strip(), now)
        return self.get(broadcast_id)

    @staticmethod
    def _history(db: Any, broadcast_id: str, action: str, by: str, comment: str, now: datetime) -> None:
        db["broadcast_history"].insert({"broadcast_id": broadcast_id, "action": action, "by": by,
                                        "comment": comment, "at": format_time(now)})

    # reading --------------------------------------------------------------------------
    def _row(self, broadcast_id: str) -> dict[str, Any]:
        with self.db.tx() as db:
            rows = list(db["broadcasts"].rows_where("id = ?", [broadcast_id]))
        if not rows:
            raise NotFound("unknown_broadcast", f"Không có lịch phát '{broadcast_id}'.")
        return rows[0]

    def get(self, broadcast_id: str) -> Broadcast:
        row = self._row(broadcast_id)
        with self.db.tx() as db:
            devices = [r[0] for r in db.execute(
                "SELECT device_id FROM broadcast_devices WHERE broadcast_id = ? ORDER BY device_id", [broadcast_id])]
            history = list(db.query("SELECT action, by, comment, at FROM broadcast_history WHERE broadcast_id = ? "
                                    "ORDER BY id", [broadcast_id]))
        return _view(row, devices, history)

    def list(self, status: str | None = None) -> list[Broadcast]:
        if status is not None and status not in STATUSES:
            raise InputError("invalid_status", f"Trạng thái phải là một trong: {', '.join(STATUSES)}.", "status")
        with self.db.tx() as db:
            sql, params = "SELECT id FROM broadcasts", []
            if status:
                sql, params = sql + " WHERE status = ?", [status]
            ids = [r[0] for r in db.execute(sql + " ORDER BY starts_at DESC", params)]
        return [self.get(i) for i in ids]

    def devices_of(self, broadcast_id: str) -> list[str]:
        return list(self.get(broadcast_id).devices)



def _view(row: dict[str, Any], devices: list[str], history: list[dict[str, Any]]) -> Broadcast:
    rule = rule_vi = None
    if row["kind"] == "scheduled":
        parsed, _ = rule_of(row)
        rule = json.loads(row["rule_json"]) if row["rule_json"] else parsed.to_dict()
        rule_vi = parsed.describe_vi()
    return Broadcast(
        id=row["id"], bulletin_id=row["bulletin_id"], kind=row["kind"], status=row["status"], priority=row["priority"],
        starts_at=row["starts_at"], ends_at=row["ends_at"], targets=tuple(json.loads(row["targets_json"])),
        devices=tuple(devices), order=row["order_no"],
        override=json.loads(row["override_json"]) if row["override_json"] else None, rule=rule, rule_vi=rule_vi,
        created_at=row["created_at"], created_by=row["created_by"], decided_by=row["decided_by"],
        decided_at=row["decided_at"], decision_comment=row["decision_comment"], updated_at=row["updated_at"],
        late_until=row["late_until"], history=tuple(BroadcastChange(h["action"], h["by"], h["comment"], h["at"])
                                                    for h in history))
