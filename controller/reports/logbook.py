"""Compliance reports and the weekly programme logbook: what was planned, what aired, what was missed.

An *occurrence* is one planned play of one broadcast on one device: an item the planner laid
out (:func:`controller.plan_expansion.planned_items`, the expansion that builds device plans
and readiness) or an emergency sent to it.  Its outcome is read from the playback events the
device reported for that item id (``finished``, ``interrupted``...); a past occurrence with
no event at all is *missed*.  Items of a programme play back to back, so only the item id,
never a start minute, ties an event to its occurrence.  Plays of a cancelled broadcast due
after it was cancelled are *cancelled*, not missed.  Every query is limited to a set of
devices, so an auditor only ever sees their own part of the admin tree.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, datetime, timedelta
from typing import Any, Iterable, Iterator, Mapping, Sequence

from controller.db import Database
from controller.labels import priority_vi
from controller.reports.event_wording import reason_text
from controller.plan_expansion import cancelled_items, load_tree, planned_items
from controller.reports.outages import Outage, device_outages, offline_at
from controller.reports.report_scope import ReportDevice
from controller.reports.spreadsheet import SIGNATURE, Column, stream_xlsx, write_csv
from loaxa.local_time import LOCAL_TZ, to_local
from loaxa.wire_time import format_time, parse_time, utcnow
from schedules.guardrails import GuardrailPolicy
from schedules.tree import AdminTree

MARGIN = timedelta(hours=6)  # events are read this far around the period (a late or delayed play)
LATE = timedelta(minutes=1)  # a play not reported this long after its start is missed (the agent's late tolerance)
OUTCOME_RANK = {"finished": 5, "interrupted": 4, "failed": 3, "skipped": 2, "started": 1}
OUTCOME_VI = {"finished": "Đã phát", "interrupted": "Bị ngắt", "failed": "Lỗi", "skipped": "Bỏ qua",
              "started": "Đang phát", "missed": "Không phát", "upcoming": "Sắp phát", "cancelled": "Đã hủy",
              "refused": "Bị từ chối"}
NOT_COUNTED = frozenset({"upcoming", "cancelled"})
STREAM_OUTCOME = {"stream_started": "started", "stream_finished": "finished"}  # a relay or live item's own events
EVENT_KINDS = ("started", "finished", "interrupted", "failed", "skipped", "stream_started", "stream_finished", "stream_gap")
LOGBOOK_COLUMNS = (
    ("date", "Ngày"), ("planned", "Giờ dự kiến"), ("actual", "Giờ phát thực tế"), ("duration", "Thời lượng (giây)"),
    ("title", "Tên bản tin / chương trình"), ("priority", "Mức ưu tiên"), ("unit", "Thôn / đơn vị"),
    ("device", "Cụm loa"), ("status", "Kết quả"), ("approved_by", "Người duyệt"), ("note", "Ghi chú"),
    ("cause", "Nguyên nhân"), ("delay", "Độ trễ (giây)"), ("repeat", "Lần lặp cảnh báo"),
)
LOGBOOK_WIDTHS = (12, 11, 14, 10, 40, 11, 20, 26, 12, 18, 24, 24, 10, 10)


@dataclass(frozen=True)
class Occurrence:
    broadcast_id: str
    device_id: str
    planned_at: datetime
    title: str
    priority: str
    unit_id: str
    unit_name: str
    device_name: str
    approved_by: str
    status: str
    actual_start: str
    duration_s: float | None
    reason: str
    item_id: str = ""
    cause: str = ""
    repeat: int = 0
    alert_id: str = ""

    @property
    def delay_s(self) -> float | None:
        """Seconds between the planned and the actual start (a late reconnection plays late)."""
        if not self.actual_start:
            return None
        return round((parse_time(self.actual_start, "actual_start") - self.planned_at).total_seconds(), 1)

    def to_dict(self) -> dict[str, Any]:
        """An occurrence as the API has always answered it (the item id stays internal)."""
        d = asdict(self)
        d.pop("item_id")
        d["planned_at"] = format_time(self.planned_at)
        d["delay_s"] = self.delay_s
        return d


@dataclass(frozen=True)
class _Planned:
    device_id: str
    item_id: str
    broadcast_id: str
    start: datetime
    cancelled: bool = False
    refused: str = ""
    repeat: int = 0
    alert: dict[str, Any] | None = None


def _scheduled(db: Database, policy: GuardrailPolicy, ids: list[str], since: datetime, until: datetime,
               tree: AdminTree) -> list[_Planned]:
    """Scheduled items of ``ids`` starting in [since, until): approved, and cancelled (whole or one by one)."""
    out = [_Planned(d, i.item_id, i.broadcast_id, i.start)
           for d, items in planned_items(db, policy, since, until, ids, tree=tree).items() for i in items]
    cancelled_at = _cancelled_at(db)
    for d, items in planned_items(db, policy, since, until, ids, status="cancelled", tree=tree).items():
        for i in items:
            at = cancelled_at.get(i.broadcast_id)
            if at is not None:  # cancelled once approved: its plays until then were planned
                out.append(_Planned(d, i.item_id, i.broadcast_id, i.start, cancelled=i.start >= at))
    for d, items in cancelled_items(db, policy, since, until, ids, tree=tree).items():
        out.extend(_Planned(d, i.item_id, i.broadcast_id, i.start, cancelled=True) for i in items)
    return out


def _planned(db: Database, policy: GuardrailPolicy, ids: list[str], since: datetime,
             until: datetime) -> list[_Planned]:
    """Scheduled items (approved and cancelled) and emergencies of ``ids`` starting in [since, until)."""
    out = _scheduled(db, policy, ids, since, until, load_tree(db))
    marks = ",".join("?" * len(ids))
    with db.tx() as conn:
        emergencies = conn.execute(
            f"""SELECT b.id, bd.device_id, b.starts_at FROM broadcasts b
                JOIN broadcast_devices bd ON bd.broadcast_id = b.id
                WHERE b.kind = 'emergency' AND b.status = 'approved' AND bd.device_id IN ({marks})
                AND b.starts_at >= ? AND b.starts_at < ?""", [*ids, format_time(since), format_time(until)]).fetchall()
    out.extend(_Planned(d, bc, bc, parse_time(t, "starts_at")) for bc, d, t in emergencies)
    known = {(p.device_id, p.item_id) for p in out}
    out.extend(p for p in _refused(db, ids, since, until) if (p.device_id, p.item_id) not in known)
    out.extend(_alert_repeats(db, ids, since, until))
    wanted = set(ids)
    for session_id, devices, started in _live_sessions(db, since, until):
        out.extend(_Planned(d, session_id, session_id, parse_time(started, "started_at")) for d in devices if d in wanted)
    return out


def _refused(db: Database, ids: list[str], since: datetime, until: datetime) -> list[_Planned]:
    """Plays of approved broadcasts that a guardrail kept out of the plans (``plan_skips``)."""
    marks = ",".join("?" * len(ids))
    with db.tx() as conn:
        rows = conn.execute(
            f"""SELECT s.device_id, s.item_id, s.broadcast_id, s.slot_at, s.code FROM plan_skips s
                JOIN broadcasts b ON b.id = s.broadcast_id WHERE b.status = 'approved'
                AND s.device_id IN ({marks}) AND s.slot_at >= ? AND s.slot_at < ?""",
            [*ids, format_time(since), format_time(until)]).fetchall()
    return [_Planned(d, i, b, parse_time(t, "slot_at"), refused=code) for d, i, b, t, code in rows]


def _alert_repeats(db: Database, ids: list[str], since: datetime, until: datetime) -> list[_Planned]:
    """Each repeat of an official warning on each cluster of its unit (one copy per device and instant)."""
    wanted = set(ids)
    with db.tx() as conn:
        rows = conn.execute(
            """SELECT r.item_id, r.alert_id, r.n, r.kind, r.at, d.unit_id, d.decided_by, b.title, a.headline
               FROM alert_repeats r JOIN alert_decisions d ON d.id = r.decision_id
               JOIN bulletins b ON b.id = r.bulletin_id JOIN alerts a ON a.id = r.alert_id
               WHERE r.status IN ('planned', 'done') AND r.kind != 'signal' AND r.at >= ? AND r.at < ?
               ORDER BY r.at, r.item_id""",
            [format_time(since), format_time(until)]).fetchall()
        under: dict[str, list[str]] = {}
        for unit_id in {r[5] for r in rows}:
            under[unit_id] = [x[0] for x in conn.execute(
                """WITH RECURSIVE down(id) AS (SELECT ? UNION ALL SELECT u.id FROM units u JOIN down ON u.parent_id = down.id)
                   SELECT d.id FROM devices d JOIN down ON d.unit_id = down.id""", [unit_id]).fetchall()]
    out, claimed = [], set()
    for item_id, alert_id, n, kind, at, unit_id, decided_by, title, headline in rows:
        meta = {"title": title or headline, "priority": "emergency", "approved_by": decided_by or "tự động",
                "kind": kind}
        for device_id in under.get(unit_id, ()):
            if device_id in wanted and (device_id, alert_id, at) not in claimed:
                claimed.add((device_id, alert_id, at))
                out.append(_Planned(device_id, item_id, alert_id, parse_time(at, "at"), repeat=n, alert=meta))
    return out


def _live_sessions(db: Database, since: datetime, until: datetime) -> list[tuple[str, list[str], str]]:
    """Live sessions started in [since, until): each device told to air one is an occurrence of it."""
    with db.tx() as conn:
        rows = conn.execute("SELECT id, devices_json, started_at FROM live_sessions WHERE started_at >= ? AND started_at < ?",
                            [format_time(since), format_time(until)]).fetchall()
    return [(r[0], json.loads(r[1]), r[2]) for r in rows]


def _cancelled_at(db: Database) -> dict[str, datetime]:
    """When each broadcast that was approved at the time was cancelled (others never reached a plan)."""
    with db.tx() as conn:
        rows = conn.execute(
            """SELECT h.broadcast_id, MIN(h.at) FROM broadcast_history h JOIN broadcasts b ON b.id = h.broadcast_id
               WHERE h.action = 'cancel' AND b.status = 'cancelled' AND b.decided_by != '' GROUP BY h.broadcast_id""").fetchall()
    return {b: parse_time(at, "at") for b, at in rows}


def occurrences(db: Database, policy: GuardrailPolicy, device_ids: Iterable[str], since: datetime, until: datetime,
                now: datetime | None = None, late: timedelta = LATE) -> list[Occurrence]:
    """Every planned play on ``device_ids`` in [since, until) with its reported outcome.

    A play nothing was reported for is *upcoming* until ``late`` after its start, then *missed*
    (``[plans] missed_after_s``: the agents' own late tolerance, after which they skip it)."""
    now = now or utcnow()
    ids = sorted(set(device_ids))
    if not ids:
        return []
    planned = _planned(db, policy, ids, since, until)
    if not planned:
        return []
    marks = ",".join("?" * len(ids))
    broadcast_ids = sorted({p.broadcast_id for p in planned if p.alert is None})
    bmarks = ",".join("?" * len(broadcast_ids))
    with db.tx() as conn:
        broadcasts = {r["id"]: r for r in conn.query(
            f"""SELECT b.id, b.priority, b.decided_by AS approved_by, bt.title FROM broadcasts b
                JOIN bulletins bt ON bt.id = b.bulletin_id WHERE b.id IN ({bmarks})""", broadcast_ids)}
        broadcasts.update({r["id"]: r for r in conn.query(
            f"""SELECT id, priority, started_by AS approved_by, 'Phát trực tiếp (' || started_by || ')' AS title
                FROM live_sessions WHERE id IN ({bmarks})""", broadcast_ids)})
        devices = {r["id"]: r for r in conn.query(
            f"""SELECT d.id, d.name, d.unit_id, u.name AS unit_name, d.created_at, d.online, d.last_seen
                FROM devices d JOIN units u ON u.id = d.unit_id WHERE d.id IN ({marks})""", ids)}
        events = list(conn.query(
            f"""SELECT device_id, item_id, kind, actual_start, duration_s, reason
                FROM playback_events WHERE device_id IN ({marks}) AND item_id != ''
                AND kind IN ({",".join("?" * len(EVENT_KINDS))})
                AND planned_at >= ? AND planned_at < ?""",
            [*ids, *EVENT_KINDS, format_time(since - MARGIN), format_time(until + MARGIN)]))
    outcome: dict[tuple[str, str], dict[str, Any]] = {}
    lost: dict[tuple[str, str], float] = {}
    began: dict[tuple[str, str], str] = {}
    for e in events:
        key = (e["device_id"], e["item_id"])
        if e["actual_start"] and (key not in began or e["actual_start"] < began[key]):
            began[key] = e["actual_start"]
        if e["kind"] == "stream_gap":
            lost[key] = lost.get(key, 0.0) + float(e["duration_s"] or 0.0)
            continue
        e = {**e, "kind": STREAM_OUTCOME.get(e["kind"], e["kind"])}
        best = outcome.get(key)
        if best is None or OUTCOME_RANK[e["kind"]] > OUTCOME_RANK[best["kind"]]:
            outcome[key] = e
    for key, e in outcome.items():
        if not e.get("actual_start") and key in began:  # a stream's end does not repeat when it began
            e["actual_start"] = began[key]
    for key, seconds in lost.items():
        if key in outcome:
            note = f"Mất tín hiệu {seconds:.0f} giây"
            outcome[key]["reason"] = f"{outcome[key]['reason']}; {note}" if outcome[key].get("reason") else note
    out = []
    for p in planned:
        b, d = p.alert or broadcasts.get(p.broadcast_id), devices.get(p.device_id)
        if b is None or d is None:
            continue
        e = outcome.get((p.device_id, p.item_id))
        if e:
            status = e["kind"]
        elif p.refused:
            status = "refused"
        elif p.cancelled:
            status = "cancelled"
        else:
            status = "upcoming" if p.start > now - late else "missed"
        out.append(Occurrence(
            broadcast_id="" if p.alert else p.broadcast_id, device_id=p.device_id, planned_at=p.start,
            title=b["title"], priority=b["priority"], unit_id=d["unit_id"], unit_name=d["unit_name"],
            device_name=d["name"], approved_by=b["approved_by"] or "", status=status,
            actual_start=(e or {}).get("actual_start") or "", duration_s=(e or {}).get("duration_s"),
            reason=(e or {}).get("reason") or p.refused, item_id=p.item_id, repeat=p.repeat,
            alert_id=p.broadcast_id if p.alert else ""))
    down = device_outages(db, [ReportDevice.from_row(d) for d in devices.values()], since, until, now)
    out = _with_causes(out, down, _expired_refusals(db, ids, since, until))
    out.sort(key=lambda o: (o.planned_at, o.unit_name, o.device_id, o.item_id))
    return out


def reason_label(reason: str) -> str:
    """A device's or a guardrail's reason code in Vietnamese; free text (already a sentence) as it is."""
    return reason_text(reason)


CAUSES = ("played", "preempted", "offline", "kill_switch", "refused", "failed", "missed")
CAUSE_VI = {"played": "Đã phát", "preempted": "Bị khẩn cấp chen ngang", "offline": "Mất kết nối",
            "kill_switch": "Bị công tắc ngắt chặn", "refused": "Bị từ chối", "failed": "Lỗi khác",
            "missed": "Không phát (không rõ lý do)", "upcoming": "Sắp phát", "cancelled": "Đã hủy"}
SKIP_FOR_ABSENCE = frozenset({"missed_start", "media_late", "agent_restart", "shutdown"})


REFUSAL_WINDOW = timedelta(minutes=10)


def _expired_refusals(db: Database, ids: list[str], since: datetime, until: datetime) -> dict[str, list[datetime]]:
    """When each device refused a command as expired (its ``security`` events): a late emergency it never played."""
    marks = ",".join("?" * len(ids))
    with db.tx() as conn:
        rows = conn.execute(
            f"""SELECT device_id, recorded_at FROM playback_events WHERE device_id IN ({marks}) AND kind = 'security'
                AND reason LIKE 'rejected on %' AND reason LIKE '%expired%' AND recorded_at >= ? AND recorded_at < ?""",
            [*ids, format_time(since), format_time(until + REFUSAL_WINDOW)]).fetchall()
    out: dict[str, list[datetime]] = {}
    for device_id, at in rows:
        out.setdefault(device_id, []).append(parse_time(at, "recorded_at"))
    return out


def _with_causes(occ: list[Occurrence], down: dict[str, list[Outage]],
                 refusals: dict[str, list[datetime]] | None = None) -> list[Occurrence]:
    """Each occurrence with the one cause that explains it; "missed" is left only when nothing explains it.

    An emergency (or warning) that played on the device when the item was due preempted it; a
    device offline at the planned instant explains a missing play or a late-start skip; an
    emergency the device never played but refused as expired (its command arrived too late)
    was refused.
    """
    refusals = refusals or {}

    def refused_late(o: Occurrence) -> bool:
        return o.priority == "emergency" and o.status == "missed" and any(
            o.planned_at <= at < o.planned_at + REFUSAL_WINDOW for at in refusals.get(o.device_id, ()))

    urgent: dict[str, list[tuple[datetime, datetime]]] = {}
    for o in occ:
        if o.priority == "emergency" and o.actual_start and o.duration_s is not None:
            begin = parse_time(o.actual_start, "actual_start")
            urgent.setdefault(o.device_id, []).append((begin, begin + timedelta(seconds=o.duration_s)))

    def preempted(o: Occurrence) -> bool:
        return o.priority != "emergency" and any(a <= o.planned_at < b for a, b in urgent.get(o.device_id, ()))

    out = []
    for o in occ:
        if o.status in NOT_COUNTED:
            cause = o.status
        elif o.status == "finished":
            cause = "played"
        elif o.status == "refused" or o.reason in {"expired", "refused"} or refused_late(o):
            cause = "refused"
        elif o.reason == "kill_switch":
            cause = "kill_switch"
        elif o.reason == "preempted" or (o.status in {"missed", "skipped"} and preempted(o)):
            cause = "preempted"
        elif (o.status == "missed" or o.reason in SKIP_FOR_ABSENCE) and offline_at(down, o.device_id, o.planned_at):
            cause = "offline"
        elif o.status == "missed":
            cause = "missed"
        else:
            cause = "failed"
        out.append(replace(o, cause=cause))
    return out


@dataclass(frozen=True)
class Compliance:
    """A reporting unit's plays by cause; ``missed`` counts only plays nothing explains.

    ``other`` (every play neither aired nor missed) is the sum of the explained causes, kept
    for readers of the earlier report.
    """

    unit_id: str
    unit_name: str
    planned: int
    played: int
    missed: int
    other: int
    preempted: int = 0
    offline: int = 0
    kill_switch: int = 0
    refused: int = 0
    failed: int = 0

    @property
    def rate(self) -> float | None:
        return None if not self.planned else self.played / self.planned

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rate": self.rate}


def compliance(occ: Sequence[Occurrence], units: dict[str, str], unit_of: dict[str, str],
               aired: Mapping[str, int] | None = None) -> list[Compliance]:
    """Plays per reporting unit (``unit_of`` maps a device's unit to it) and per cause.

    ``aired``: plays known to have aired without their occurrences (devices whose every play
    aired, :mod:`controller.reports.rollup`), by the devices' unit."""
    acc: dict[str, dict[str, int]] = {}
    for unit_id, n in (aired or {}).items():
        if n:
            acc.setdefault(unit_of.get(unit_id, unit_id), dict.fromkeys(CAUSES, 0))["played"] += n
    for o in occ:
        if o.status in NOT_COUNTED:
            continue
        counts = acc.setdefault(unit_of.get(o.unit_id, o.unit_id), dict.fromkeys(CAUSES, 0))
        counts[o.cause or ("played" if o.status == "finished" else "missed" if o.status == "missed" else "failed")] += 1
    out = []
    for u in sorted(acc, key=lambda x: (units.get(x, x), x)):  # two units of one name: by id
        a = acc[u]
        explained = sum(a[k] for k in ("preempted", "offline", "kill_switch", "refused", "failed"))
        out.append(Compliance(u, units.get(u, u), sum(a.values()), a["played"], a["missed"], explained,
                              a["preempted"], a["offline"], a["kill_switch"], a["refused"], a["failed"]))
    return out


def compliance_by_day(occ: Sequence[Occurrence], aired: Mapping[date, int] | None = None) -> list[tuple[date, int, int]]:
    """(local day, planned, played) for every day that had counted plays, in order: compliance over time
    (``aired``: plays per day known to have aired without their occurrences)."""
    acc: dict[date, list[int]] = {d: [n, n] for d, n in (aired or {}).items() if n}
    for o in occ:
        if o.status in NOT_COUNTED:
            continue
        a = acc.setdefault(to_local(o.planned_at).date(), [0, 0])
        a[0] += 1
        a[1] += o.status == "finished"
    return [(d, *acc[d]) for d in sorted(acc)]


@dataclass(frozen=True)
class RepeatRow:
    """One official warning on one cluster: its repeats planned, aired, and how the others went."""

    alert_id: str
    title: str
    device_id: str
    device_name: str
    unit_name: str
    planned: int
    played: int
    late: int
    causes: str


def alert_repeats(occ: Sequence[Occurrence]) -> list[RepeatRow]:
    """Each alert's repeats per cluster, from the occurrences of its repeats."""
    groups: dict[tuple[str, str], list[Occurrence]] = {}
    for o in occ:
        if o.alert_id and o.status not in NOT_COUNTED:
            groups.setdefault((o.alert_id, o.device_id), []).append(o)
    rows = []
    for (alert_id, device_id), items in groups.items():
        first = items[0]
        others: dict[str, int] = {}
        for o in items:
            if o.cause != "played":
                others[o.cause] = others.get(o.cause, 0) + 1
        rows.append(RepeatRow(
            alert_id, first.title, device_id, first.device_name, first.unit_name, len(items),
            sum(o.cause == "played" for o in items),
            sum(1 for o in items if o.delay_s is not None and o.delay_s > LATE.total_seconds()),
            "; ".join(f"{CAUSE_VI.get(k, k)}: {n}" for k, n in sorted(others.items()))))
    return sorted(rows, key=lambda r: (r.title, r.unit_name, r.device_name))


@dataclass(frozen=True)
class OfflineCluster:
    id: str
    name: str
    last_seen: str | None


@dataclass(frozen=True)
class OfflineGroup:
    """A unit's clusters that are offline now, out of how many it holds."""

    unit_id: str
    unit_name: str
    offline: int
    total: int
    devices: tuple[OfflineCluster, ...]


def week_bounds(day: date) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00, local time, as aware datetimes."""
    monday = day - timedelta(days=day.weekday())
    start = datetime.combine(monday, datetime.min.time(), LOCAL_TZ)
    return start, start + timedelta(days=7)


@dataclass(frozen=True)
class LogbookRow:
    """One planned play in the programme logbook, worded in Vietnamese; a blank cell is "".

    ``planned_at`` and ``actual_start`` (UTC, ISO 8601) let a spreadsheet get typed cells.
    """

    date: str = ""
    planned: str = ""
    actual: str = ""
    duration: float | str = ""
    title: str = ""
    priority: str = ""
    unit: str = ""
    device: str = ""
    status: str = ""
    approved_by: str = ""
    note: str = ""
    cause: str = ""
    delay: float | str = ""
    repeat: int | str = ""
    planned_at: str = ""
    actual_start: str = ""

    def __getitem__(self, key: str) -> Any:
        """A cell by its column's key (``LOGBOOK_COLUMNS`` names the columns by key)."""
        if key not in _ROW_FIELDS:
            raise KeyError(key)
        return getattr(self, key)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_ROW_FIELDS = frozenset(f.name for f in fields(LogbookRow))


def logbook_rows(occ: Sequence[Occurrence]) -> list[LogbookRow]:
    """The programme logbook (sổ nhật ký chương trình): one row per planned play, in Vietnamese."""
    rows = []
    for o in occ:
        local = to_local(o.planned_at)
        actual = ""
        if o.actual_start:
            actual = to_local(parse_time(o.actual_start, "actual_start")).strftime("%H:%M:%S")
        rows.append(LogbookRow(
            date=local.strftime("%d/%m/%Y"), planned=local.strftime("%H:%M"), actual=actual,
            duration=round(o.duration_s, 1) if o.duration_s is not None else "",
            title=o.title, priority=priority_vi(o.priority), unit=o.unit_name,
            device=f"{o.device_name} ({o.device_id})", status=OUTCOME_VI.get(o.status, o.status),
            approved_by=o.approved_by, note=reason_label(o.reason), cause=CAUSE_VI.get(o.cause, o.cause),
            delay=o.delay_s if o.delay_s is not None else "", repeat=o.repeat or "",
            planned_at=format_time(o.planned_at), actual_start=o.actual_start or "",
        ))
    return rows


def logbook_csv(rows: Sequence[LogbookRow]) -> bytes:
    """The logbook as CSV (see :func:`controller.reports.spreadsheet.write_csv`, formulas neutralised)."""
    return write_csv([label for _, label in LOGBOOK_COLUMNS], [[r[k] for k, _ in LOGBOOK_COLUMNS] for r in rows])


def _local_naive(iso: str) -> datetime | None:
    return to_local(parse_time(iso, "time")).replace(tzinfo=None) if iso else None


def _typed(r: LogbookRow) -> list[Any]:
    """A row's cells with the date and times typed when the row carries its instants."""
    planned, actual = _local_naive(r.planned_at), _local_naive(r.actual_start)
    out = [r[k] for k, _ in LOGBOOK_COLUMNS]
    if planned is not None:
        out[0], out[1] = planned.date(), planned.time()
    if actual is not None:
        out[2] = actual.time()
    return out


def logbook_xlsx(rows: Sequence[LogbookRow], heading: str) -> bytes:
    """The logbook as a spreadsheet with typed dates and times, a filter and the signature block."""
    return b"".join(logbook_xlsx_stream(rows, heading))


def logbook_xlsx_stream(rows: Iterable[LogbookRow], heading: str) -> Iterator[bytes]:
    """:func:`logbook_xlsx` as the chunks of a download, each row typed as it is written."""
    return stream_xlsx("Sổ nhật ký chương trình", heading,
                       [Column(label, w) for (_, label), w in zip(LOGBOOK_COLUMNS, LOGBOOK_WIDTHS)],
                       (_typed(r) for r in rows), signature=SIGNATURE)


def compliance_svg(items: Sequence[Compliance]) -> str:
    """A horizontal bar chart, drawn on the server so a weak phone needs no chart library."""
    bar_h, gap, label_w, width = 22, 12, 180, 660
    height = max(1, len(items)) * (bar_h + gap) + 30
    scale = max([c.planned for c in items] + [1])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Biểu đồ tỉ lệ phát đúng lịch theo đơn vị">']
    plot_w = width - label_w - 60
    for i, c in enumerate(items):
        y = 10 + i * (bar_h + gap)
        played_w = plot_w * c.played / scale
        missed_w = plot_w * c.missed / scale
        other_w = plot_w * c.other / scale
        name = _esc(c.unit_name[:28])
        rate = "–" if c.rate is None else f"{c.rate * 100:.0f}%"
        parts.append(f'<text x="0" y="{y + 16}" font-size="13">{name}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{played_w:.1f}" height="{bar_h}" fill="#1b7a3a"><title>Đã phát {c.played}</title></rect>')
        parts.append(f'<rect x="{label_w + played_w:.1f}" y="{y}" width="{other_w:.1f}" height="{bar_h}" fill="#d18f00"><title>Có nguyên nhân {c.other}</title></rect>')
        parts.append(f'<rect x="{label_w + played_w + other_w:.1f}" y="{y}" width="{missed_w:.1f}" height="{bar_h}" fill="#a51b1b"><title>Không phát, không rõ lý do {c.missed}</title></rect>')
        parts.append(f'<text x="{label_w + plot_w + 6}" y="{y + 16}" font-size="13">{rate}</text>')
    ly = height - 8
    parts.append(f'<rect x="0" y="{ly - 10}" width="12" height="12" fill="#1b7a3a"/><text x="16" y="{ly}" font-size="12">Đã phát</text>'
                 f'<rect x="90" y="{ly - 10}" width="12" height="12" fill="#d18f00"/><text x="106" y="{ly}" font-size="12">Có nguyên nhân (khẩn cấp, mất kết nối, công tắc ngắt, từ chối, lỗi)</text>'
                 f'<rect x="530" y="{ly - 10}" width="12" height="12" fill="#a51b1b"/><text x="546" y="{ly}" font-size="12">Không rõ lý do</text>')
    parts.append("</svg>")
    return "".join(parts)


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
