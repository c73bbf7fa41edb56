"""Compliance of many clusters from the per-day rollup: the devices whose every play aired need no occurrences.

A province's week is 140,000 planned plays; building each one (its expansion, outcome,
cause and airtime) took 16 to 49 s.  Ingest, the bulk loader and retention keep
``playback_rollup`` (migration ``m064``, :func:`controller.db.rollup_deltas`) beside the
events: per device and local day, the items that started and finished (a count and the sum
of their ids' numbers), any other outcome, and the seconds aired.

Devices of one class (the same broadcasts reach them, under the same guardrails) are
planned the same items, so the planner runs once per class.  A device whose items due by
now are exactly the items it finished, that started nothing else and reported no other
outcome in the period, aired every play it counts: its plays are added as *played* without
building them.  Every other device (a miss, a failure, an emergency, a warning's repeats, a
live session, a refusal, an item that played on another day, anything the sums cannot tell)
gets its occurrences built from its events as before, so the report is the same, cause for
cause, as the one built from the events alone (``tests/province/test_rollup.py`` compares
them).  The airtime comes from the rollup too, unless an event was recorded outside its
play's day and the six hours after it, which only the event query reads right.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Mapping, Sequence

from controller.db import ROLLUP_MOD, UNIT_ROLLUP_MOD, Database, rollup_item_hash, unit_item_hash
from controller.plan_expansion import LOOKBACK, load_approved, load_tree
from controller.reports import airtime, logbook, unit_rollup
from controller.reports.logbook import Occurrence
from loaxa.local_time import to_local
from loaxa.wire_time import format_time
from schedules.guardrails import GuardrailPolicy
from schedules.tree import AdminTree

BOUND_PARAMS = 900  # SQLite's bound-parameter limit, with room


@dataclass(frozen=True)
class Tally:
    """What a compliance report reads of a period's plays.

    ``occurrences``: those of the devices that needed them, as :func:`logbook.occurrences`
    builds them; ``aired_by_unit`` and ``aired_by_day``: the plays of the other devices, all
    aired, by the devices' unit and by local day; ``airtime``: the weeks and seconds aired
    per reporting unit, or None when it must be read from the events."""

    occurrences: list[Occurrence]
    aired_by_unit: dict[str, int]
    aired_by_day: dict[date, int]
    airtime: tuple[list[date], dict[str, list[float]]] | None
    from_rollup: int = 0  # devices counted from the rollup (the rest were built from their events)
    from_unit_rollup: int = 0  # of those, the devices counted with their whole unit


@dataclass(frozen=True)
class _Expected:
    """What a class of devices counts in the period: items due by now, their id sum, and per day."""

    count: int
    id_sum: int
    by_day: Counter
    item_hash: int = 0  # the items' unit_item_hash sum, for the unit rollup


def tally(db: Database, policy: GuardrailPolicy, groups: Mapping[str, Sequence[str]], since: datetime,
          until: datetime, reporting: Mapping[str, str], late: timedelta = logbook.LATE,
          from_events: bool = False) -> Tally:
    """The period's plays on the devices of ``groups`` (each unit's devices in the report);
    ``reporting`` maps each of those units to its reporting unit (for the airtime). ``since`` and
    ``until`` are local midnights.  ``from_events`` builds every device's occurrences and ignores
    the rollup (what it must equal).

    Units first (:mod:`controller.reports.unit_rollup`): a unit whose devices are all in the report,
    of one class and none special, whose sums match, counts as a whole; the devices of every
    other unit are checked one by one."""
    now = logbook.utcnow()
    members = {u: ds for u, ds in groups.items() if ds}  # by unit: what most of the work below goes by
    if not members:
        return Tally([], {}, {}, None)
    if from_events:
        ids = sorted(d for ds in members.values() for d in ds)
        return Tally(logbook.occurrences(db, policy, ids, since, until, now=now, late=late), {}, {}, None)
    tree = load_tree(db)
    unit_class, direct = _classes(db, policy, tree, members, since, until)

    def class_of(device: str, unit: str) -> tuple[frozenset[str], Any]:
        key = unit_class[unit]
        own = direct.get(device)
        return (key[0] | own, key[1]) if own else key

    mixed = {tree.device(d).unit_id for d in direct} & members.keys()  # a device reached on its own
    special = _special(db, tree, {d for ds in members.values() for d in ds}, since, until)
    reps: dict[Any, str] = {}
    for unit, ds in members.items():
        for d in (ds if unit in mixed else (min(ds),)):
            key = class_of(d, unit)
            if key not in reps or d < reps[key]:
                reps[key] = d
    scheduled: dict[str, list[Any]] = defaultdict(list)
    for p in logbook._scheduled(db, policy, sorted(reps.values()), since, until, tree):
        scheduled[p.device_id].append(p)
    known = _known_broadcasts(db, {p.broadcast_id for ps in scheduled.values() for p in ps})
    expected = {key: _expected(scheduled.get(rep, []), known, now - late) for key, rep in reps.items()}
    first, last = to_local(since).date(), to_local(until - timedelta(microseconds=1)).date()
    weeks = airtime.week_starts(since, until)
    aired_by_unit: dict[str, int] = defaultdict(int)
    aired_by_day: dict[date, int] = defaultdict(int)

    special_units = {u for u, ds in members.items() if not special.isdisjoint(ds)}
    whole: dict[str, unit_rollup.UnitExpectation] = {}
    for unit, ds in members.items():
        e = expected[unit_class[unit]] if unit not in mixed else None
        if e is not None and unit not in special_units and len(ds) == len(tree.unit_devices(unit)):
            whole[unit] = unit_rollup.UnitExpectation(tuple(ds), e.count, e.item_hash)
    units = unit_rollup.count(db, whole, first, last, weeks, reporting)
    for unit in units.passed:
        e = expected[unit_class[unit]]
        n = len(members[unit])
        if e is not None and e.count:
            aired_by_unit[unit] += n * e.count
            for day, k in e.by_day.items():
                aired_by_day[day] += n * k

    rest = [(d, u) for u, ds in members.items() if u not in units.passed for d in ds]
    sums, micro, odd = (_read(db, [d for d, _ in rest], first, last, weeks, {d: reporting[u] for d, u in rest})
                        if rest else ({}, {}, False))
    for unit, acc in units.micro.items():
        mine = micro.setdefault(unit, [0] * len(weeks))
        for i, us in enumerate(acc):
            mine[i] += us
    built: list[str] = []
    for d, unit in rest:
        e = expected[class_of(d, unit)]
        s = sums.get(d, (0, 0, 0, 0, 0))
        started, started_sum, finished, finished_sum, other = s
        if (e is None or d in special or other or started != finished or started_sum % ROLLUP_MOD != finished_sum % ROLLUP_MOD
                or finished != e.count or finished_sum % ROLLUP_MOD != e.id_sum):
            built.append(d)
            continue
        if e.count:
            aired_by_unit[unit] += e.count
            for day, n in e.by_day.items():
                aired_by_day[day] += n
    built.sort()
    occ = logbook.occurrences(db, policy, built, since, until, now=now, late=late) if built else []
    aired = None if (odd or units.odd) else (weeks, airtime.seconds_of(micro))
    return Tally(occ, dict(aired_by_unit), dict(aired_by_day), aired, sum(map(len, members.values())) - len(built),
                 sum(len(members[u]) for u in units.passed))


def _classes(db: Database, policy: GuardrailPolicy, tree: AdminTree, members: Mapping[str, Sequence[str]],
             since: datetime, until: datetime) -> tuple[dict[str, tuple[frozenset[str], Any]], dict[str, set[str]]]:
    """Classes of devices that the planner gives the same items: reached by the same broadcasts (approved
    or cancelled), under the same guardrails (:func:`schedules.programme.device_classes`, by unit).
    Returned as each unit's class, and the broadcasts that reach a device on its own (which add to its
    unit's)."""
    found = [*load_approved(db, since - LOOKBACK, until + LOOKBACK).values(),
             *load_approved(db, since - LOOKBACK, until + LOOKBACK, "cancelled").values()]
    targets = [(s.broadcast.id, frozenset(s.broadcast.targets)) for s in found]
    direct: dict[str, set[str]] = defaultdict(set)
    for b, ts in targets:
        for t in ts:
            if tree.is_device(t):
                direct[t].add(b)
    by_unit: dict[str, tuple[frozenset[str], Any]] = {}
    same = not policy.overrides_by_unit  # no unit's own guardrails: every unit has the base ones
    for unit in members:
        chain = (unit, *tree.ancestors(unit))
        by_unit[unit] = (frozenset(b for b, ts in targets if not ts.isdisjoint(chain)),
                         policy.base if same else policy.for_unit(tree, unit))
    return by_unit, dict(direct)


def _expected(planned: Sequence[Any], known: set[str], due: datetime) -> _Expected | None:
    """The items a class counts (due by ``due``, not cancelled); None when its items cannot be summed
    (one item id twice)."""
    seen: set[str] = set()
    count, id_sum, item_hash, by_day = 0, 0, 0, Counter()
    for p in planned:
        if p.broadcast_id not in known:
            continue  # the report leaves out a play whose broadcast it cannot name
        if p.item_id in seen:
            return None
        seen.add(p.item_id)
        if p.cancelled or p.refused or p.start > due:
            continue  # cancelled or upcoming: not counted, unless it played, which the sums then show
        count += 1
        id_sum = (id_sum + rollup_item_hash(p.item_id)) % ROLLUP_MOD
        item_hash = (item_hash + unit_item_hash(p.item_id)) % UNIT_ROLLUP_MOD
        by_day[to_local(p.start).date()] += 1
    return _Expected(count, id_sum, by_day, item_hash)


def _known_broadcasts(db: Database, ids: set[str]) -> set[str]:
    if not ids:
        return set()
    marks = ",".join("?" * len(ids))
    with db.tx() as conn:
        return {r[0] for r in conn.execute(
            f"SELECT b.id FROM broadcasts b JOIN bulletins bt ON bt.id = b.bulletin_id WHERE b.id IN ({marks})",
            sorted(ids)).fetchall()}


def _special(db: Database, tree: AdminTree, ids: set[str], since: datetime, until: datetime) -> set[str]:
    """Devices with plays besides the scheduled ones in the period (emergencies, plays a guardrail
    refused, an official warning's repeats, live sessions): their occurrences are built."""
    span = [format_time(since), format_time(until)]
    out: set[str] = set()
    with db.tx() as conn:
        out.update(r[0] for r in conn.execute(
            """SELECT DISTINCT bd.device_id FROM broadcasts b JOIN broadcast_devices bd ON bd.broadcast_id = b.id
               WHERE b.kind = 'emergency' AND b.status = 'approved' AND b.starts_at >= ? AND b.starts_at < ?""", span))
        out.update(r[0] for r in conn.execute(
            """SELECT DISTINCT s.device_id FROM plan_skips s JOIN broadcasts b ON b.id = s.broadcast_id
               WHERE b.status = 'approved' AND s.slot_at >= ? AND s.slot_at < ?""", span))
        units = [r[0] for r in conn.execute(
            """SELECT DISTINCT d.unit_id FROM alert_repeats r JOIN alert_decisions d ON d.id = r.decision_id
               WHERE r.status IN ('planned', 'done') AND r.at >= ? AND r.at < ?""", span)]
        live = [r[0] for r in conn.execute("SELECT devices_json FROM live_sessions WHERE started_at >= ? AND started_at < ?",
                                           span)]
    out.update(tree.devices_under([u for u in units if u in tree]))
    for devices_json in live:
        out.update(json.loads(devices_json))
    return out & ids


def _read(db: Database, ids: Sequence[str], first: date, last: date, weeks: Sequence[date], reporting: Mapping[str, str]
          ) -> tuple[dict[str, tuple[int, ...]], dict[str, list[int]], bool]:
    """Per device the period's sums (started, their id sum, finished, theirs, other outcomes); per
    reporting unit the microseconds aired each week; whether an airtime must be read from the events.

    One row per device: the weeks' airtime are columns of it (a period is a few weeks)."""
    aired, aired_params = airtime.weekly_columns(weeks)
    head = (f"SELECT device_id, SUM(started), SUM(started_sum), SUM(finished), SUM(finished_sum), SUM(other), "
            f"SUM(aired_odd), {', '.join(aired)} FROM playback_rollup ")
    span = [*aired_params, first.isoformat(), last.isoformat()]
    with db.tx() as conn:
        if len(ids) > BOUND_PARAMS:  # a province: every device's rows of the period, one range of the table
            rows = conn.execute(head + "WHERE day >= ? AND day <= ? GROUP BY device_id", span).fetchall()
        else:
            marks = ",".join("?" * len(ids))
            rows = conn.execute(head + f"INDEXED BY playback_rollup_device WHERE day >= ? AND day <= ? "
                                f"AND device_id IN ({marks}) GROUP BY device_id", [*span, *ids]).fetchall()
    sums: dict[str, tuple[int, ...]] = {}
    micro: dict[str, list[int]] = {}
    odd = False
    n = len(weeks)
    for r in rows:
        unit = reporting.get(r[0])
        if unit is None:
            continue  # outside the report's devices
        sums[r[0]] = r[1:6]
        if r[6]:
            odd = True
        if any(r[7:]):
            acc = micro.get(unit)
            if acc is None:
                acc = micro[unit] = [0] * n
            for i in range(n):
                acc[i] += r[7 + i]
    return sums, micro, odd
