"""Compliance reports and the weekly programme logbook: what was planned, what aired, what was missed.

An *occurrence* is one planned play of one broadcast on one device: an item the planner laid
out (:func:`controller.plans.planner.planned_items`, the expansion that builds device plans
and readiness) or an emergency sent to it.  Its outcome is read from the playback events the
device reported for that item id (``finished``, ``interrupted``...); a past occurrence with
no event at all is *missed*.  Items of a programme play back to back, so only the item id,
never a start minute, ties an event to its occurrence.  Plays of a cancelled broadcast due
after it was cancelled are *cancelled*, not missed.  Every query is limited to a set of
devices, so an auditor only ever sees their own part of the admin tree.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any, Iterable, Sequence

from controller.db import Database
from controller.plans.planner import load_tree, planned_items
from loaxa.local_time import LOCAL_TZ, to_local
from loaxa.wire_time import format_time, parse_time, utcnow
from schedules.guardrails import GuardrailPolicy

MARGIN = timedelta(hours=6)  # events are read this far around the period (a late or delayed play)
LATE = timedelta(minutes=1)  # a play not reported this long after its start is missed (the agent's late tolerance)
OUTCOME_RANK = {"finished": 5, "interrupted": 4, "failed": 3, "skipped": 2, "started": 1}
OUTCOME_VI = {"finished": "Đã phát", "interrupted": "Bị ngắt", "failed": "Lỗi", "skipped": "Bỏ qua",
              "started": "Đang phát", "missed": "Không phát", "upcoming": "Sắp phát", "cancelled": "Đã hủy"}
NOT_COUNTED = frozenset({"upcoming", "cancelled"})
LOGBOOK_COLUMNS = (
    ("date", "Ngày"), ("planned", "Giờ dự kiến"), ("actual", "Giờ phát thực tế"), ("duration", "Thời lượng (giây)"),
    ("title", "Tên bản tin / chương trình"), ("priority", "Mức ưu tiên"), ("unit", "Thôn / đơn vị"),
    ("device", "Cụm loa"), ("status", "Kết quả"), ("approved_by", "Người duyệt"), ("note", "Ghi chú"),
)
PRIORITY_VI = {"normal": "Thường", "priority": "Ưu tiên", "emergency": "Khẩn cấp"}


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


@dataclass(frozen=True)
class _Planned:
    device_id: str
    item_id: str
    broadcast_id: str
    start: datetime
    cancelled: bool = False


def _planned(db: Database, policy: GuardrailPolicy, ids: list[str], since: datetime,
             until: datetime) -> list[_Planned]:
    """Scheduled items (approved and cancelled) and emergencies of ``ids`` starting in [since, until)."""
    tree = load_tree(db)
    out = [_Planned(d, i.item_id, i.broadcast_id, i.start)
           for d, items in planned_items(db, policy, since, until, ids, tree=tree).items() for i in items]
    cancelled_at = _cancelled_at(db)
    for d, items in planned_items(db, policy, since, until, ids, status="cancelled", tree=tree).items():
        for i in items:
            at = cancelled_at.get(i.broadcast_id)
            if at is not None:  # cancelled once approved: its plays until then were planned
                out.append(_Planned(d, i.item_id, i.broadcast_id, i.start, cancelled=i.start >= at))
    marks = ",".join("?" * len(ids))
    with db.tx() as conn:
        emergencies = conn.execute(
            f"""SELECT b.id, bd.device_id, b.starts_at FROM broadcasts b
                JOIN broadcast_devices bd ON bd.broadcast_id = b.id
                WHERE b.kind = 'emergency' AND b.status = 'approved' AND bd.device_id IN ({marks})
                AND b.starts_at >= ? AND b.starts_at < ?""", [*ids, format_time(since), format_time(until)]).fetchall()
    out.extend(_Planned(d, bc, bc, parse_time(t, "starts_at")) for bc, d, t in emergencies)
    return out


def _cancelled_at(db: Database) -> dict[str, datetime]:
    """When each broadcast that was approved at the time was cancelled (others never reached a plan)."""
    with db.tx() as conn:
        rows = conn.execute(
            """SELECT h.broadcast_id, MIN(h.at) FROM broadcast_history h JOIN broadcasts b ON b.id = h.broadcast_id
               WHERE h.action = 'cancel' AND b.status = 'cancelled' AND b.decided_by != '' GROUP BY h.broadcast_id""").fetchall()
    return {b: parse_time(at, "at") for b, at in rows}


def occurrences(db: Database, policy: GuardrailPolicy, device_ids: Iterable[str], since: datetime, until: datetime,
                now: datetime | None = None) -> list[Occurrence]:
    """Every planned play on ``device_ids`` in [since, until) with its reported outcome."""
    now = now or utcnow()
    ids = sorted(set(device_ids))
    if not ids:
        return []
    planned = _planned(db, policy, ids, since, until)
    if not planned:
        return []
    marks = ",".join("?" * len(ids))
    broadcast_ids = sorted({p.broadcast_id for p in planned})
    bmarks = ",".join("?" * len(broadcast_ids))
    with db.tx() as conn:
        broadcasts = {r["id"]: r for r in conn.query(
            f"""SELECT b.id, b.priority, b.decided_by AS approved_by, bt.title FROM broadcasts b
                JOIN bulletins bt ON bt.id = b.bulletin_id WHERE b.id IN ({bmarks})""", broadcast_ids)}
        devices = {r["id"]: r for r in conn.query(
            f"""SELECT d.id, d.name, d.unit_id, u.name AS unit_name FROM devices d JOIN units u ON u.id = d.unit_id
                WHERE d.id IN ({marks})""", ids)}
        events = list(conn.query(
            f"""SELECT device_id, item_id, kind, actual_start, duration_s, reason
                FROM playback_events WHERE device_id IN ({marks}) AND item_id != ''
                AND kind IN ('started','finished','interrupted','failed','skipped')
                AND planned_at >= ? AND planned_at < ?""",
            [*ids, format_time(since - MARGIN), format_time(until + MARGIN)]))
    outcome: dict[tuple[str, str], dict[str, Any]] = {}
    for e in events:
        key = (e["device_id"], e["item_id"])
        best = outcome.get(key)
        if best is None or OUTCOME_RANK[e["kind"]] > OUTCOME_RANK[best["kind"]]:
            outcome[key] = e
    out = []
    for p in planned:
        b, d = broadcasts.get(p.broadcast_id), devices.get(p.device_id)
        if b is None or d is None:
            continue
        e = outcome.get((p.device_id, p.item_id))
        if e:
            status = e["kind"]
        elif p.cancelled:
            status = "cancelled"
        else:
            status = "upcoming" if p.start > now - LATE else "missed"
        out.append(Occurrence(
            broadcast_id=p.broadcast_id, device_id=p.device_id, planned_at=p.start, title=b["title"],
            priority=b["priority"], unit_id=d["unit_id"], unit_name=d["unit_name"], device_name=d["name"],
            approved_by=b["approved_by"] or "", status=status,
            actual_start=(e or {}).get("actual_start") or "", duration_s=(e or {}).get("duration_s"),
            reason=(e or {}).get("reason") or "", item_id=p.item_id))
    out.sort(key=lambda o: (o.planned_at, o.unit_name, o.device_id, o.item_id))
    return out


@dataclass(frozen=True)
class Compliance:
    unit_id: str
    unit_name: str
    planned: int
    played: int
    missed: int
    other: int

    @property
    def rate(self) -> float | None:
        return None if not self.planned else self.played / self.planned


def compliance(occ: Sequence[Occurrence], units: dict[str, str], unit_of: dict[str, str]) -> list[Compliance]:
    """Planned vs played vs missed, per reporting unit (``unit_of`` maps a device's unit to it)."""
    acc: dict[str, list[int]] = {}
    for o in occ:
        if o.status in NOT_COUNTED:
            continue
        key = unit_of.get(o.unit_id, o.unit_id)
        a = acc.setdefault(key, [0, 0, 0, 0])
        a[0] += 1
        if o.status == "finished":
            a[1] += 1
        elif o.status == "missed":
            a[2] += 1
        else:
            a[3] += 1
    return [Compliance(u, units.get(u, u), *acc[u]) for u in sorted(acc, key=lambda x: units.get(x, x))]


def offline_clusters(devices: Sequence[dict[str, Any]], units: dict[str, str]) -> list[dict[str, Any]]:
    """Offline devices grouped by their unit, biggest group first: a dead village shows at a glance."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for d in devices:
        if not d["online"]:
            groups.setdefault(d["unit_id"], []).append(d)
    totals: dict[str, int] = {}
    for d in devices:
        totals[d["unit_id"]] = totals.get(d["unit_id"], 0) + 1
    out = [{"unit_id": u, "unit_name": units.get(u, u), "offline": len(ds), "total": totals[u],
            "devices": [{"id": d["id"], "name": d["name"], "last_seen": d["last_seen"]} for d in ds]}
           for u, ds in groups.items()]
    return sorted(out, key=lambda g: (-g["offline"], g["unit_name"]))


def week_bounds(day: date) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00, local time, as aware datetimes."""
    monday = day - timedelta(days=day.weekday())
    start = datetime.combine(monday, datetime.min.time(), LOCAL_TZ)
    return start, start + timedelta(days=7)


def logbook_rows(occ: Sequence[Occurrence]) -> list[dict[str, Any]]:
    """The programme logbook (sổ nhật ký chương trình): one row per planned play, in Vietnamese."""
    rows = []
    for o in occ:
        local = to_local(o.planned_at)
        actual = ""
        if o.actual_start:
            actual = to_local(parse_time(o.actual_start, "actual_start")).strftime("%H:%M:%S")
        rows.append({
            "date": local.strftime("%d/%m/%Y"), "planned": local.strftime("%H:%M"), "actual": actual,
            "duration": round(o.duration_s, 1) if o.duration_s is not None else "",
            "title": o.title, "priority": PRIORITY_VI.get(o.priority, o.priority), "unit": o.unit_name,
            "device": f"{o.device_name} ({o.device_id})", "status": OUTCOME_VI.get(o.status, o.status),
            "approved_by": o.approved_by, "note": o.reason,
        })
    return rows


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: Any) -> bool:
    """Whether a spreadsheet would read this text as a formula (a title or note anyone could write)."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def csv_safe(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe, so it shows as text."""
    return "'" + value if is_formula_like(value) else value


def logbook_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    """UTF-8 with a BOM so Excel on Windows opens the Vietnamese text correctly; every text cell quoted.

    Titles, notes and names come from people, so a cell starting with ``=``, ``+``, ``-``,
    ``@``, a tab or CR is prefixed with an apostrophe: opened in a spreadsheet it is text,
    never a formula (``=HYPERLINK(...)``, ``=cmd|...``).
    """
    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_NONNUMERIC)
    w.writerow([label for _, label in LOGBOOK_COLUMNS])
    for r in rows:
        w.writerow([csv_safe(r[k]) for k, _ in LOGBOOK_COLUMNS])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def logbook_xlsx(rows: Sequence[dict[str, Any]], heading: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "So nhat ky"
    ws.append([heading])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([label for _, label in LOGBOOK_COLUMNS])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append([r[k] for k, _ in LOGBOOK_COLUMNS])
        for cell in ws[ws.max_row]:
            if is_formula_like(cell.value):  # openpyxl stores such text as a formula unless told otherwise
                cell.data_type = "s"
                cell.quotePrefix = True
    for i, width in enumerate((12, 11, 14, 10, 40, 11, 20, 26, 12, 18, 24), start=1):
        ws.column_dimensions[ws.cell(row=2, column=i).column_letter].width = width
    ws.freeze_panes = "A3"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def compliance_svg(items: Sequence[Compliance]) -> str:
    """A horizontal bar chart, drawn on the server so a weak phone needs no chart library."""
    bar_h, gap, label_w, width = 22, 12, 180, 640
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
        parts.append(f'<rect x="{label_w + played_w:.1f}" y="{y}" width="{other_w:.1f}" height="{bar_h}" fill="#d18f00"><title>Bị ngắt, lỗi, bỏ qua {c.other}</title></rect>')
        parts.append(f'<rect x="{label_w + played_w + other_w:.1f}" y="{y}" width="{missed_w:.1f}" height="{bar_h}" fill="#a51b1b"><title>Không phát {c.missed}</title></rect>')
        parts.append(f'<text x="{label_w + plot_w + 6}" y="{y + 16}" font-size="13">{rate}</text>')
    ly = height - 8
    parts.append(f'<rect x="0" y="{ly - 10}" width="12" height="12" fill="#1b7a3a"/><text x="16" y="{ly}" font-size="12">Đã phát</text>'
                 f'<rect x="90" y="{ly - 10}" width="12" height="12" fill="#d18f00"/><text x="106" y="{ly}" font-size="12">Ngắt / lỗi / bỏ qua</text>'
                 f'<rect x="250" y="{ly - 10}" width="12" height="12" fill="#a51b1b"/><text x="266" y="{ly}" font-size="12">Không phát</text>')
    parts.append("</svg>")
    return "".join(parts)


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def occurrence_dict(o: Occurrence) -> dict[str, Any]:
    """An occurrence as the API has always answered it (the item id stays internal)."""
    d = asdict(o)
    d.pop("item_id")
    d["planned_at"] = format_time(o.planned_at)
    return d
