"""Checking a new or edited broadcast against the guardrails before anyone approves it.

The check asks one question of the same engine that builds the plans: *does adding this
broadcast make the plan drop or shift anything that it would not drop or shift without it?*
Every such difference becomes a :class:`Refusal`.  Because the check and the plan share the
engine, a broadcast the check accepts is never silently cut by the expansion later (as long
as the guardrails and the other broadcasts stay as they were).

Besides the guardrails (``quiet_hours``, ``cap_programmes_per_day``,
``cap_minutes_per_programme``, ``weekend``) and ``overlap``, two refusals concern the rule
itself: ``in_the_past`` (a one-off with a time already gone, or a recurring rule with no
occurrence left) and ``no_occurrences`` (dates, weekdays and validity that never meet).  A
recurring rule that started earlier is accepted; its past occurrences are simply never played.

Emergencies are checked only for ``in_the_past``/``no_occurrences``: they interrupt whatever
plays and bypass quiet hours, caps and the weekend rule.  An
:class:`~schedules.broadcast.Override` recorded on the broadcast lifts the guardrails it names
for that broadcast's own items only; it cannot make other broadcasts break them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable

from schedules.broadcast import (
    CAP_MINUTES_PER_PROGRAMME,
    CAP_PROGRAMMES_PER_DAY,
    IN_THE_PAST,
    NO_OCCURRENCES,
    OVERLAP,
    QUIET_HOURS,
    WEEKEND,
    Broadcast,
)
from schedules.errors import ScheduleInputError
from schedules.guardrails import GuardrailPolicy, Guardrails
from schedules.programme import DevicePlan, Item, device_classes, plan_device, planning_span
from schedules.timeutil import format_date_vi, format_local_vi, require_aware, to_local
from schedules.tree import AdminTree
from schedules.date_phrases_vi import weekday_vi

CODES = (IN_THE_PAST, NO_OCCURRENCES, WEEKEND, QUIET_HOURS, CAP_PROGRAMMES_PER_DAY, CAP_MINUTES_PER_PROGRAMME, OVERLAP)

CODE_TITLES_VI = {
    IN_THE_PAST: "Thời điểm đã qua",
    NO_OCCURRENCES: "Không có lần phát nào",
    WEEKEND: "Quy định cuối tuần",
    QUIET_HOURS: "Giờ yên tĩnh",
    CAP_PROGRAMMES_PER_DAY: "Vượt số buổi phát trong ngày",
    CAP_MINUTES_PER_PROGRAMME: "Vượt thời lượng một buổi phát",
    OVERLAP: "Trùng buổi phát",
}


@dataclass(frozen=True)
class Refusal:
    """Why a broadcast cannot be scheduled as entered: one per rule broken, however often.

    ``code`` is for machines, ``message_vi`` for the official, ``rule`` states the rule and its
    values as in force (``quiet_hours 22:00-05:00``), ``conflicting`` names the other
    broadcasts involved, ``devices`` and ``times_utc`` say where and when (slot instants).
    """

    code: str
    message_vi: str
    rule: str
    conflicting: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    times_utc: tuple[datetime, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title_vi": CODE_TITLES_VI.get(self.code, self.code),
            "message_vi": self.message_vi,
            "rule": self.rule,
            "conflicting": list(self.conflicting),
            "devices": list(self.devices),
            "times_utc": [t.isoformat() for t in self.times_utc],
        }


@dataclass
class _Finding:
    code: str
    rule: str
    conflicting: set[str]
    message: str
    first: datetime
    times: set[datetime] = dataclasses.field(default_factory=set)
    devices: set[str] = dataclasses.field(default_factory=set)


def check_broadcast(
    new: Broadcast,
    existing: Iterable[Broadcast],
    tree: AdminTree,
    policy: GuardrailPolicy,
    now: datetime,
) -> list[Refusal]:
    """Every reason ``new`` cannot be scheduled; an empty list means it may go to approval.

    ``existing`` are the broadcasts already scheduled (a stored broadcast with ``new.id`` is
    ignored, so an edit is checked against everything but its own old version).  Unknown
    targets, or targets without any device, raise :class:`ScheduleInputError`.
    """
    now = require_aware(now, "now")
    devices = tree.devices_under(new.targets)
    if not devices:
        raise ScheduleInputError("no_devices", "Nơi phát đã chọn chưa có cụm loa nào.", "targets")
    occurrences = new.rule.all_occurrences()
    if not occurrences:
        message = "Lịch phát không có lần phát nào: kiểm tra ngày bắt đầu, ngày kết thúc, các thứ và thời hạn hiệu lực."
        return [Refusal(NO_OCCURRENCES, message, NO_OCCURRENCES)]
    past = [t for t in occurrences if t < now]
    if past and (new.rule.kind == "once" or len(past) == len(occurrences)):
        message = f"Thời điểm phát {format_local_vi(past[-1])} đã qua{_more(len(past))}; hãy chọn thời điểm trong tương lai."
        return [Refusal(IN_THE_PAST, message, IN_THE_PAST, times_utc=tuple(past))]
    if new.is_emergency:
        return []
    upcoming = new.not_before(now)
    first = next(t for t in occurrences if t >= now)
    span = planning_span(first, occurrences[-1] + timedelta(seconds=new.run_s + 60))
    others = [b for b in existing if b.id != new.id]
    by_id = {b.id: b for b in others}
    findings: dict[tuple[str, str], _Finding] = {}
    for (ids, guards), devs in device_classes(others, tree, policy, devices).items():
        base = [by_id[i] for i in sorted(ids)]
        before = plan_device(base, guards, *span)
        after = plan_device([*base, upcoming], guards, *span)
        for finding in _differences(new, before, after, guards):
            kept = findings.setdefault((finding.code, finding.rule), finding)
            if finding.first < kept.first:
                kept.first, kept.message = finding.first, finding.message
            kept.times.add(finding.first)
            kept.devices.update(devs)
            kept.conflicting.update(finding.conflicting)
    return [_refusal(f, tree) for f in sorted(findings.values(), key=lambda f: (CODES.index(f.code), f.first))]


def _differences(new: Broadcast, before: DevicePlan, after: DevicePlan, guards: Guardrails) -> Iterable[_Finding]:
    skipped_before = {i.key for i in before.items() if i.skip}
    for item in after.items():
        if item.skip and item.key not in skipped_before:
            yield _skip_finding(new, item, after, guards)
    delays_before = {slot: by for slot, _, by in before.delays}
    for slot, previous, by in after.delays:
        if by > delays_before.get(slot, timedelta(0)):
            ids = _ids(new, after.programmes[slot], after.programmes[previous])
            message = (
                f"Buổi phát lúc {format_local_vi(previous)} kéo dài đến {to_local(slot + by):%H:%M}, "
                f"chồng lên buổi phát lúc {format_local_vi(slot)}."
            )
            yield _Finding(OVERLAP, OVERLAP, ids, message, slot)


def _skip_finding(new: Broadcast, item: Item, plan: DevicePlan, guards: Guardrails) -> _Finding:
    slot, code = item.slot, item.skip
    day = plan.day_of(slot)
    programme = plan.programmes[slot]
    when = format_local_vi(slot)
    whose = "" if item.broadcast.id == new.id else f" (bản tin {item.broadcast.label} sẽ bị bỏ)"
    if code == WEEKEND:
        rule = f"weekend days={','.join(map(str, sorted(guards.weekend_days)))} normal_allowed=false"
        message = f"Không phát tin thường vào {weekday_vi(day.weekday())} {format_date_vi(day)} theo quy định cuối tuần của đơn vị."
        return _Finding(code, rule, set(), message, slot)
    if code == QUIET_HOURS:
        ahead = programme[: programme.index(item)]
        ids = _ids(new, [i for i in ahead if not i.skip], [item])
        rule = f"quiet_hours {guards.quiet_start:%H:%M}-{guards.quiet_end:%H:%M}"
        message = (
            f"Buổi phát lúc {when} kéo vào giờ yên tĩnh ({guards.quiet_vi()}){whose}. "
            "Chỉ được phát trong giờ này khi người có thẩm quyền ghi rõ lý do ngoại lệ."
        )
        return _Finding(code, rule, ids, message, slot)
    if code == CAP_MINUTES_PER_PROGRAMME:
        cap = guards.minutes_cap(day)
        counted = [i for i in programme if i.skip in (None, code) and not i.broadcast.lifts(code)]
        minutes = sum(i.counted_s for i in counted) / 60
        rule = f"cap_minutes_per_programme {cap:g}"
        message = f"Buổi phát lúc {when} sẽ dài {_num_vi(minutes)} phút, vượt mức tối đa {_num_vi(cap)} phút mỗi buổi{whose}."
        return _Finding(code, rule, _ids(new, programme, [item]), message, slot)
    cap_day = guards.programmes_cap(day)
    same_day = [i for s in plan.days[day] for i in plan.programmes[s] if i.skip in (None, code)]
    rule = f"cap_programmes_per_day {cap_day}"
    message = (
        f"Ngày {format_date_vi(day)} sẽ có {plan.day_counts.get(day, 0)} buổi phát, vượt mức tối đa {cap_day} buổi mỗi ngày; "
        f"buổi lúc {to_local(slot):%H:%M} không thể phát{whose}."
    )
    return _Finding(code, rule, _ids(new, same_day, [item]), message, slot)


def _ids(new: Broadcast, *groups: Iterable[Item]) -> set[str]:
    return {i.broadcast.id for g in groups for i in g} - {new.id}


def _num_vi(value: float) -> str:
    """``20.5`` as ``20,5``: Vietnamese writes a decimal comma."""
    return f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",")


def _more(count: int) -> str:
    return f" (và {count - 1} lần khác)" if count > 1 else ""


def _refusal(f: _Finding, tree: AdminTree) -> Refusal:
    devices = tuple(sorted(f.devices))
    where = f" Cụm loa: {tree.name(devices[0])}." if len(devices) == 1 else f" Ảnh hưởng {len(devices)} cụm loa."
    times = tuple(sorted(f.times))
    message = f.message.rstrip(".") + _more(len(times)) + "." + where
    return Refusal(f.code, message, f.rule, tuple(sorted(f.conflicting)), devices, times)

