"""The villages whose every play aired, from the per-unit rollup: a province's week is 2,000 rows, not 70,000.

``playback_unit_rollup`` (migration ``m065``, :func:`controller.db.apply_unit_rollup`) sums
``playback_rollup`` over the devices of each unit, with every started and finished play
counted as the number of its (device, item) pair: the product of the device's and the
item's numbers modulo a prime.  The devices of a unit that share a class (the same items
planned) are expected to have finished exactly ``Σ device numbers × Σ item numbers``; the
sums are equal only when every device finished exactly its class's items (two different
sets of pairs give different polynomials in those numbers), so a unit whose sums match
counts all its plays as *played*, as :mod:`controller.reports.rollup` would device by
device.  Any other unit (a mismatch, a stale unit, a unit only partly in the report, of
two classes, or with a special device) is left to the per-device check.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import date
from typing import Mapping, Sequence

from controller.db import UNIT_ROLLUP_MOD, Database, unit_device_hash
from controller.reports import airtime

BOUND_PARAMS = 900  # SQLite's bound-parameter limit, with room


@dataclass(frozen=True)
class UnitExpectation:
    """What a unit's devices should have finished in the period: ``devices`` of one class, each the
    class's ``count`` items whose :func:`controller.db.unit_item_hash` sum is ``item_hash``."""

    devices: tuple[str, ...]
    count: int
    item_hash: int


@dataclass(frozen=True)
class UnitCount:
    """The units whose sums matched, and their airtime: microseconds per reporting unit and week,
    and whether one of their aired events must be read from the events."""

    passed: frozenset[str]
    micro: dict[str, list[int]]
    odd: bool


def count(db: Database, expected: Mapping[str, UnitExpectation], first: date, last: date, weeks: Sequence[date],
          reporting: Mapping[str, str]) -> UnitCount:
    """Check each unit of ``expected`` against its rows from ``first`` to ``last`` (local days, inclusive);
    ``reporting`` maps a unit to its report row (for the airtime by week)."""
    if not expected:
        return UnitCount(frozenset(), {}, False)
    rows = _read(db, sorted(expected), first, last, weeks)
    with db.tx() as conn:
        stale = {r[0] for r in conn.execute("SELECT unit_id FROM playback_unit_rollup_stale").fetchall()}
    passed: set[str] = set()
    micro: dict[str, list[int]] = {}
    odd = False
    zeros = (0, 0, 0, 0, 0, 0, *(0 for _ in weeks))
    for unit, e in expected.items():
        if unit in stale:
            continue
        started, started_hash, finished, finished_hash, other, aired_odd, *aired = rows.get(unit, zeros)
        device_hash = _devices_hash(e.devices)
        if (other or started != finished or started_hash != finished_hash or finished != len(e.devices) * e.count
                or finished_hash != device_hash * e.item_hash % UNIT_ROLLUP_MOD):
            continue
        passed.add(unit)
        if aired_odd:
            odd = True
        if any(aired):
            acc = micro.setdefault(reporting[unit], [0] * len(weeks))
            for i, us in enumerate(aired):
                acc[i] += us
    return UnitCount(frozenset(passed), micro, odd)


@lru_cache(maxsize=1 << 14)
def _devices_hash(devices: tuple[str, ...]) -> int:
    """The sum of a unit's devices' numbers (the same few thousand villages on every report)."""
    return sum(unit_device_hash(d) for d in devices) % UNIT_ROLLUP_MOD


def _read(db: Database, units: Sequence[str], first: date, last: date, weeks: Sequence[date]
          ) -> dict[str, tuple[int, ...]]:
    """Per unit the period's sums (started, their pair sum, finished, theirs, other outcomes, aired events
    recorded far from their day), then the microseconds aired each week of ``weeks``."""
    aired, aired_params = airtime.weekly_columns(weeks)
    head = (f"SELECT unit_id, SUM(started), SUM(started_hash) % {UNIT_ROLLUP_MOD}, SUM(finished), "
            f"SUM(finished_hash) % {UNIT_ROLLUP_MOD}, SUM(other), SUM(aired_odd), {', '.join(aired)} "
            "FROM playback_unit_rollup ")
    span = [*aired_params, first.isoformat(), last.isoformat()]
    with db.tx() as conn:
        if len(units) > BOUND_PARAMS:  # a province: every unit's rows of the period, one range of the table
            found = conn.execute(head + "WHERE day >= ? AND day <= ? GROUP BY unit_id", span).fetchall()
        else:
            marks = ",".join("?" * len(units))
            found = conn.execute(head + f"INDEXED BY playback_unit_rollup_unit WHERE day >= ? AND day <= ? "
                                 f"AND unit_id IN ({marks}) GROUP BY unit_id", [*span, *units]).fetchall()
    return {r[0]: tuple(r[1:]) for r in found}
