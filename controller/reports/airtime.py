"""Airtime: how long each unit's clusters were on air, week by week, from the plays devices reported.

A play counts with the duration the device measured, in whole microseconds (``finished``, ``interrupted`` and the
streams' ``stream_finished``), in the local week (Monday to Sunday) of its start.  A unit's
airtime is the sum over its clusters, so a village with three poles that each aired ten
minutes counts thirty: the chart answers "how much did the speakers of this unit speak".
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Mapping, Sequence

from controller.db import Database
from loaxa.local_time import to_local
from loaxa.wire_time import format_time, parse_time

AIRED_KINDS = ("finished", "interrupted", "stream_finished")


def week_starts(since: datetime, until: datetime) -> list[date]:
    """The Mondays of every local week that [since, until) touches."""
    first = to_local(since).date()
    last = to_local(until - timedelta(microseconds=1)).date()
    monday = first - timedelta(days=first.weekday())
    out = []
    while monday <= last:
        out.append(monday)
        monday += timedelta(days=7)
    return out


def airtime_by_week(db: Database, unit_of_device: Mapping[str, str], since: datetime,
                    until: datetime) -> tuple[list[date], dict[str, list[float]]]:
    """The weeks of the period and, per reporting unit, the seconds aired in each."""
    weeks = week_starts(since, until)
    ids = sorted(unit_of_device)
    out: dict[str, list[float]] = {}
    if not ids or not weeks:
        return weeks, out
    index = {w: i for i, w in enumerate(weeks)}
    micro: dict[str, list[int]] = {}
    marks = ",".join("?" * len(ids))
    kinds = ",".join("?" * len(AIRED_KINDS))
    with db.tx() as conn:
        rows = conn.execute(
            f"""SELECT device_id, COALESCE(actual_start, recorded_at), duration_s FROM playback_events
                WHERE device_id IN ({marks}) AND kind IN ({kinds}) AND duration_s > 0
                AND recorded_at >= ? AND recorded_at < ?""",
            [*ids, *AIRED_KINDS, format_time(since), format_time(until + timedelta(hours=6))]).fetchall()
    for device_id, at, seconds in rows:
        start = parse_time(at, "actual_start")
        if not since <= start < until:
            continue
        day = to_local(start).date()
        week = index.get(day - timedelta(days=day.weekday()))
        if week is None:
            continue
        unit = unit_of_device[device_id]
        micro.setdefault(unit, [0] * len(weeks))[week] += round(float(seconds) * 1_000_000)
    return weeks, seconds_of(micro)


def seconds_of(micro: Mapping[str, Sequence[int]]) -> dict[str, list[float]]:
    """Whole microseconds summed per unit and week, as seconds: the same figure whatever order the
    plays were added in (the per-day rollup adds them by device and day)."""
    return {u: [us / 1_000_000 for us in v] for u, v in micro.items()}


def week_label(monday: date) -> str:
    """``Tuần 01/12`` – the Monday a week starts on, as people write it."""
    return f"Tuần {monday:%d/%m}"


def ordered(units: Mapping[str, str], figures: Mapping[str, Sequence[float]]) -> list[tuple[str, Sequence[float]]]:
    """The units' figures in the order of their names."""
    return sorted(((units.get(u, u), v) for u, v in figures.items()), key=lambda x: x[0])


def weekly_columns(weeks: Sequence[date]) -> tuple[list[str], list[str]]:
    """The SQL columns summing a rollup's ``aired_us`` for each week of ``weeks`` (ISO ``day`` text),
    and their parameters: one row per device or unit holds its period's airtime week by week."""
    bounds = [w.isoformat() for w in weeks[1:]]
    columns = ["SUM(CASE WHEN day < ? THEN aired_us ELSE 0 END)"] if bounds else []
    columns += ["SUM(CASE WHEN day >= ? AND day < ? THEN aired_us ELSE 0 END)" for _ in bounds[1:]]
    columns += ["SUM(CASE WHEN day >= ? THEN aired_us ELSE 0 END)"] if bounds else ["SUM(aired_us)"]
    params = [*bounds[:1], *(x for pair in zip(bounds, bounds[1:]) for x in pair), *bounds[-1:]]
    return columns, params
