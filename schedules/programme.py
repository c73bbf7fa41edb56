"""Per-device programmes: broadcast rules expanded into concrete, non-overlapping plays.

A *programme* is one slot's run of items on one device: every occurrence of every broadcast
reaching the device whose slot opens at the same instant.  Its items play back to back in
priority order (emergency, priority, normal), then the commune's chosen ``order``, then
broadcast id; the repeats of one broadcast stay together, ``repeat_gap`` apart.  The first
item starts at the slot time.

Nothing overlaps on one device:

- an emergency item keeps its slot time; any other item that would collide with an emergency
  block is moved to just after it (the plan's form of "emergency interrupts");
- when a programme runs into the next slot's programme, the later programme is **shifted**
  to start when the earlier one ends, and the shift is reported as a :class:`Delay`.
  :func:`schedules.check.check_broadcast` refuses (``overlap``) any new broadcast that would
  cause a shift, so shifts only come from emergencies or from data entered under older rules.

The expansion is also the last line of defence for the guardrails.  Whatever is stored, no
play it returns breaks them; what had to go is reported as :class:`Skipped` with the
guardrail's code, so the controller can log it (``skipped`` audit events).  In order:

1. ``weekend``: normal items on a weekend day where the unit forbids them;
2. ``quiet_hours``: items whose place in the programme falls in quiet hours;
3. ``cap_minutes_per_programme``: the items that would push a programme past its length
   (the lowest in programme order go first);
4. ``cap_programmes_per_day``: programmes past the day's cap (the latest go first);
5. ``quiet_hours`` again, after shifts, as a safety net.

Emergencies are exempt from all of them; a recorded :class:`~schedules.broadcast.Override`
exempts a broadcast from the rules it names.  A programme's length is the sum of its counted
items' durations plus the gaps before repeats; emergency and exempt items do not count.

Occurrence keys (``"{broadcast}-{UTC yyyymmddHHMM}-{repeat}"``) depend only on the broadcast,
its slot and the repeat, so re-expanding the same data on a later tick yields the same keys:
they are the plan item ids devices de-duplicate on.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Iterable, Sequence

from schedules.broadcast import (
    CAP_MINUTES_PER_PROGRAMME,
    CAP_PROGRAMMES_PER_DAY,
    QUIET_HOURS,
    WEEKEND,
    Broadcast,
)
from schedules.guardrails import GuardrailPolicy, Guardrails
from schedules.rules import occurrences
from schedules.timeutil import local_date, local_midnight, require_aware
from schedules.tree import AdminTree

log = logging.getLogger(__name__)

DEFAULT_HORIZON = timedelta(hours=48)
_EPS = timedelta(microseconds=1)


def occurrence_key(broadcast_id: str, slot_utc: datetime, repeat_index: int) -> str:
    """The stable plan item id of one play: at most 64 characters of ``[A-Za-z0-9_.-]``."""
    if slot_utc.utcoffset() != timedelta(0):
        slot_utc = require_aware(slot_utc, "slot")
    return f"{broadcast_id}-{slot_utc:%Y%m%d%H%M}-{repeat_index}"


@dataclass(frozen=True)
class PlannedPlay:
    """One play of one broadcast on one device, at an absolute UTC instant."""

    device_id: str
    broadcast_id: str
    occurrence_key: str
    slot_utc: datetime
    start_utc: datetime
    duration_s: float
    priority: str
    repeat_index: int

    @property
    def end_utc(self) -> datetime:
        return self.start_utc + timedelta(seconds=self.duration_s)


@dataclass(frozen=True)
class Skipped:
    """A play the guardrails kept out of the plan, with the guardrail's code."""

    device_id: str
    broadcast_id: str
    occurrence_key: str
    slot_utc: datetime
    code: str


@dataclass(frozen=True)
class Delay:
    """A programme shifted because the programme of ``after_slot_utc`` ran into its slot."""

    device_id: str
    slot_utc: datetime
    after_slot_utc: datetime
    delay_s: float


@dataclass(frozen=True)
class Expansion:
    """The plans of every device for a window: plays, what was skipped, what was shifted."""

    window_start: datetime
    window_end: datetime
    plays: tuple[PlannedPlay, ...]
    skipped: tuple[Skipped, ...] = ()
    delays: tuple[Delay, ...] = ()
    _by_device: dict[str, tuple[PlannedPlay, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        grouped: dict[str, list[PlannedPlay]] = defaultdict(list)
        for p in self.plays:
            grouped[p.device_id].append(p)
        object.__setattr__(self, "_by_device", {d: tuple(ps) for d, ps in grouped.items()})

    def for_device(self, device_id: str) -> tuple[PlannedPlay, ...]:
        """One device's plays in time order (the items of its retained plan); () when it has none."""
        return self._by_device.get(device_id, ())

    def by_device(self) -> dict[str, tuple[PlannedPlay, ...]]:
        """Every device that has plays, with its plays in time order."""
        return dict(self._by_device)


# --- the engine: one device (or one class of identical devices) ----------------------------


@dataclass(eq=False)
class Item:
    """One repeat of one occurrence while a device's plan is being worked out."""

    broadcast: Broadcast
    slot: datetime
    repeat: int
    key: str
    start: datetime | None = None
    skip: str | None = None
    duration: timedelta = field(init=False)
    gap: timedelta = field(init=False)

    def __post_init__(self) -> None:
        self.duration = timedelta(seconds=self.broadcast.duration_s)
        self.gap = self.broadcast.rule.repeat_gap if self.repeat > 0 else timedelta(0)

    @property
    def counted_s(self) -> float:
        """What the item adds to its programme's length: its duration plus the gap before it."""
        return self.broadcast.duration_s + self.gap.total_seconds()

    @property
    def end(self) -> datetime:
        assert self.start is not None
        return self.start + self.duration


@dataclass
class DevicePlan:
    """The worked-out plan of one device: programmes by slot, shifts, and per-day counts."""

    programmes: dict[datetime, list[Item]]
    days: dict[date, list[datetime]] = field(default_factory=dict)
    delays: list[tuple[datetime, datetime, timedelta]] = field(default_factory=list)
    day_counts: dict[date, int] = field(default_factory=dict)
    _day_of: dict[datetime, date] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.programmes = dict(sorted(self.programmes.items()))
        self._day_of = {slot: local_date(slot) for slot in self.programmes}
        for slot, day in self._day_of.items():
            self.days.setdefault(day, []).append(slot)

    def day_of(self, slot: datetime) -> date:
        """The local day a programme's slot belongs to (caps count per local day)."""
        return self._day_of[slot]

    def items(self) -> Iterable[Item]:
        """Every item, programme by programme in time order, each in programme order."""
        for items in self.programmes.values():
            yield from items


def plan_device(broadcasts: Sequence[Broadcast], guards: Guardrails, span_start: datetime, span_end: datetime) -> DevicePlan:
    """Work out one device's programmes for every slot in ``[span_start, span_end)``."""
    programmes: dict[datetime, list[Item]] = defaultdict(list)
    for b in broadcasts:
        for slot in occurrences(b.rule, span_start, span_end):
            for r in range(b.rule.repeats):
                programmes[slot].append(Item(b, slot, r, occurrence_key(b.id, slot, r)))
    for items in programmes.values():
        items.sort(key=lambda i: (-i.broadcast.rank, i.broadcast.order, i.broadcast.second, i.broadcast.id, i.repeat))
    plan = DevicePlan(programmes)
    for slot, items in plan.programmes.items():
        _admit_programme(slot, plan.day_of(slot), items, guards)
    _cap_programmes_per_day(plan, guards)
    _lay_out(plan)
    for item in plan.items():
        if item.skip is None and item.start is not None and not item.broadcast.lifts(QUIET_HOURS):
            if guards.in_quiet_hours(item.start, item.end):
                item.skip = QUIET_HOURS
    return plan


def _admit_programme(slot: datetime, day: date, items: list[Item], guards: Guardrails) -> None:
    if not guards.normal_allowed(day):
        for item in items:
            if item.broadcast.priority == "normal" and not item.broadcast.lifts(WEEKEND):
                item.skip = WEEKEND
    t = slot
    for item in items:
        if item.skip:
            continue
        start = t + item.gap
        if not item.broadcast.lifts(QUIET_HOURS) and guards.in_quiet_hours(start, start + item.duration):
            item.skip = QUIET_HOURS
            continue
        t = start + item.duration
    cap = guards.minutes_cap(day)
    if cap is None:
        return
    total, over = 0.0, False
    for item in items:
        if item.skip or item.broadcast.lifts(CAP_MINUTES_PER_PROGRAMME):
            continue
        total += item.counted_s
        over = over or total > cap * 60 + 1e-6
        if over:
            item.skip = CAP_MINUTES_PER_PROGRAMME


def _cap_programmes_per_day(plan: DevicePlan, guards: Guardrails) -> None:
    counted: dict[date, int] = defaultdict(int)
    for slot, items in plan.programmes.items():
        day = plan.day_of(slot)
        counting = [i for i in items if not i.skip and not i.broadcast.lifts(CAP_PROGRAMMES_PER_DAY)]
        if not counting:
            continue
        counted[day] += 1
        cap = guards.programmes_cap(day)
        if cap is not None and counted[day] > cap:
            for item in counting:
                item.skip = CAP_PROGRAMMES_PER_DAY
    plan.day_counts = dict(counted)


def _lay_out(plan: DevicePlan) -> None:
    blocks: list[tuple[datetime, datetime]] = []
    cursor: datetime | None = None
    for slot, items in plan.programmes.items():
        emergencies = [i for i in items if not i.skip and i.broadcast.is_emergency]
        if not emergencies:
            continue
        t = slot if cursor is None else max(slot, cursor)
        first = t + emergencies[0].gap
        for item in emergencies:
            item.start = t + item.gap
            t = item.end
        blocks.append((first, t))
        cursor = t
    cursor, previous = None, None
    for slot, items in plan.programmes.items():
        rest = [i for i in items if not i.skip and not i.broadcast.is_emergency]
        if not rest:
            continue
        t = slot
        if cursor is not None and previous is not None and cursor > slot:
            plan.delays.append((slot, previous, cursor - slot))
            t = cursor
        for item in rest:
            item.start = _clear_of(t + item.gap, item.duration, blocks)
            t = item.end
        cursor, previous = t, slot


def _clear_of(start: datetime, duration: timedelta, blocks: list[tuple[datetime, datetime]]) -> datetime:
    """The earliest start at or after ``start`` whose play touches no emergency block."""
    for b_start, b_end in blocks:  # blocks are in time order and do not overlap
        if b_end <= start:
            continue
        if b_start >= start + duration:
            break
        start = b_end
    return start


# --- all devices ------------------------------------------------------------------------


def reach(tree: AdminTree, broadcast: Broadcast) -> frozenset[str]:
    """The devices a stored broadcast reaches; targets since removed from the tree are ignored."""
    known = [t for t in broadcast.targets if t in tree]
    if len(known) != len(broadcast.targets):
        log.warning("broadcast %s targets unknown nodes %s", broadcast.id, sorted(broadcast.targets - set(known)))
    return tree.devices_under(known)


def device_classes(
    broadcasts: Iterable[Broadcast], tree: AdminTree, policy: GuardrailPolicy, devices: Iterable[str] | None = None
) -> dict[tuple[frozenset[str], Guardrails], list[str]]:
    """Devices grouped by (broadcasts reaching them, guardrails in force).

    Devices of one class get identical plans but for their id, so the work is done once per
    class: a province of thousands of clusters usually has a few dozen classes.
    """
    reached: dict[str, set[str]] = defaultdict(set)
    if devices is None:
        for b in broadcasts:
            for d in reach(tree, b):
                reached[d].add(b.id)
    else:  # a report on a few clusters asks of each whether a target lies above it, not for every device reached
        devices = sorted(devices)
        for b in broadcasts:
            for d in devices:
                if d in b.targets or any(a in b.targets for a in tree.ancestors(d)):
                    reached[d].add(b.id)
    guards_by_unit: dict[str, Guardrails] = {}
    classes: dict[tuple[frozenset[str], Guardrails], list[str]] = defaultdict(list)
    for d in sorted(reached if devices is None else devices):
        unit_id = tree.device(d).unit_id
        if unit_id not in guards_by_unit:
            guards_by_unit[unit_id] = policy.for_unit(tree, unit_id)
        classes[(frozenset(reached.get(d, ())), guards_by_unit[unit_id])].append(d)
    return dict(classes)


def planning_span(window_start: datetime, window_end: datetime) -> tuple[datetime, datetime]:
    """Whole local days around a window, so day caps and overruns see every programme they depend on."""
    return (
        local_midnight(local_date(window_start) - timedelta(days=1)),
        local_midnight(local_date(window_end - _EPS) + timedelta(days=2)),
    )


def expand(
    broadcasts: Iterable[Broadcast],
    tree: AdminTree,
    policy: GuardrailPolicy,
    window_start: datetime,
    window_end: datetime | None = None,
    horizon: timedelta = DEFAULT_HORIZON,
    devices: Iterable[str] | None = None,
) -> Expansion:
    """Every device's plays starting in ``[window_start, window_end)`` (default: the next 48 h).

    ``broadcasts`` are the approved, stored broadcasts; devices no broadcast reaches get no
    plays.  ``devices`` limits the work to those devices (a report on one commune of a
    province).  The result depends only on the inputs, never on the clock.
    """
    start = require_aware(window_start, "window_start")
    end = require_aware(window_end, "window_end") if window_end is not None else start + horizon
    by_id = {b.id: b for b in broadcasts}
    span = planning_span(start, end)
    plays: list[PlannedPlay] = []
    skipped: list[Skipped] = []
    delays: list[Delay] = []
    for (ids, guards), devices in device_classes(by_id.values(), tree, policy, devices).items():
        plan = plan_device([by_id[i] for i in sorted(ids)], guards, *span)
        for item in plan.items():
            if item.skip is None and item.start is not None and start <= item.start < end:
                b = item.broadcast
                plays.extend(
                    PlannedPlay(d, b.id, item.key, item.slot, item.start, b.duration_s, b.priority, item.repeat) for d in devices
                )
            elif item.skip is not None and start <= item.slot < end:
                skipped.extend(Skipped(d, item.broadcast.id, item.key, item.slot, item.skip) for d in devices)
        for slot, after, by in plan.delays:
            if start <= slot < end:
                delays.extend(Delay(d, slot, after, by.total_seconds()) for d in devices)
    plays.sort(key=lambda p: (p.device_id, p.start_utc, p.occurrence_key))
    skipped.sort(key=lambda s: (s.device_id, s.slot_utc, s.occurrence_key))
    delays.sort(key=lambda x: (x.device_id, x.slot_utc))
    return Expansion(start, end, tuple(plays), tuple(skipped), tuple(delays))
