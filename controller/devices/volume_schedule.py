"""A volume schedule per unit: lower in the evening, louder for the morning programme.

The steps (``HH:MM`` local time → volume) travel in every device's signed plan, so a pole
keeps them offline and applies each step when its time comes (``edge_agent``).  A device
takes the schedule of its nearest unit that has one.  A volume set by hand holds until the
next step; :func:`expected_volume` says which of the two the device should report now, for
the desired-state reconciliation.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from controller.db import Database
from controller.errors import InputError
from loaxa.protocol import MAX_VOLUME_STEPS, VolumeStep
from loaxa.volume_steps import current_step
from loaxa.wire_time import format_time, utcnow

_LINE = re.compile(r"^\s*(\d{1,2})[:hg.]?(\d{2})?\s*(?:giờ)?\s*[-–→:=,; ]\s*(\d{1,3})\s*%?\s*$", re.I)


@dataclass(frozen=True)
class VolumeSchedule:
    unit_id: str
    steps: tuple[VolumeStep, ...]
    set_by: str
    set_at: str

    def to_dict(self) -> dict[str, Any]:
        return {"unit_id": self.unit_id, "set_by": self.set_by, "set_at": self.set_at,
                "steps": [s.to_dict() for s in self.steps]}


def parse_steps(value: Any) -> tuple[VolumeStep, ...]:
    """Steps from a list of ``{"at", "volume"}`` or from lines such as ``06:00 80`` / ``18h 50``."""
    raw: list[tuple[str, Any]] = []
    if isinstance(value, str):
        for n, line in enumerate(value.splitlines(), 1):
            if not line.strip():
                continue
            m = _LINE.match(line)
            if not m:
                raise InputError("invalid_volume_step", f"Dòng {n} \"{line.strip()}\" không hợp lệ: hãy ghi giờ rồi âm "
                                                        "lượng, ví dụ 18:00 50.", "steps")
            raw.append((f"{int(m.group(1)):02d}:{m.group(2) or '00'}", int(m.group(3))))
    elif isinstance(value, list):
        for x in value:
            if not isinstance(x, dict):
                raise InputError("invalid_volume_step", "Mỗi mốc cần giờ (at) và âm lượng (volume).", "steps")
            raw.append((x.get("at"), x.get("volume")))
    else:
        raise InputError("invalid_volume_steps", "Lịch âm lượng không hợp lệ.", "steps")
    steps = []
    for at, volume in raw:
        if not isinstance(at, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", at):
            raise InputError("invalid_volume_step", f"Giờ \"{at}\" không hợp lệ (00:00–23:59).", "steps")
        if not isinstance(volume, int) or isinstance(volume, bool) or not 0 <= volume <= 100:
            raise InputError("invalid_volume", f"Âm lượng \"{volume}\" phải từ 0 đến 100.", "steps")
        steps.append(VolumeStep(at, volume))
    if len(steps) > MAX_VOLUME_STEPS:
        raise InputError("too_many_steps", f"Tối đa {MAX_VOLUME_STEPS} mốc trong một ngày.", "steps")
    if len({s.at for s in steps}) != len(steps):
        raise InputError("duplicate_step", "Hai mốc trùng giờ.", "steps")
    return tuple(sorted(steps, key=lambda s: s.at))


class VolumeSchedules:
    def __init__(self, db: Database):
        self.db = db

    def put(self, unit_id: str, steps: tuple[VolumeStep, ...], by: str) -> VolumeSchedule:
        now = format_time(utcnow())
        with self.db.tx() as db:
            if steps:
                db.execute("INSERT INTO volume_schedules(unit_id, steps_json, set_by, set_at) VALUES (?, ?, ?, ?) "
                           "ON CONFLICT(unit_id) DO UPDATE SET steps_json = excluded.steps_json, "
                           "set_by = excluded.set_by, set_at = excluded.set_at",
                           [unit_id, json.dumps([s.to_dict() for s in steps]), by, now])
            else:
                db.execute("DELETE FROM volume_schedules WHERE unit_id = ?", [unit_id])
        return VolumeSchedule(unit_id, steps, by, now)

    def all(self) -> dict[str, VolumeSchedule]:
        with self.db.tx() as db:
            rows = db.execute("SELECT unit_id, steps_json, set_by, set_at FROM volume_schedules").fetchall()
        return {r[0]: VolumeSchedule(r[0], tuple(VolumeStep.from_dict(x) for x in json.loads(r[1])), r[2], r[3])
                for r in rows}

    def for_units(self, chain: Iterable[str]) -> VolumeSchedule | None:
        """The schedule of the nearest unit of ``chain`` (a device's units, nearest first) that has one."""
        schedules = self.all()
        for unit_id in chain:
            if unit_id in schedules:
                return schedules[unit_id]
        return None


def expected_volume(steps: tuple[VolumeStep, ...], manual: tuple[int, datetime] | None,
                    now: datetime) -> int | None:
    """What the device should report now: a hand-set volume until the next step, else the step's."""
    step = current_step(steps, now)
    if step is None:
        return manual[0] if manual else None
    if manual and manual[1] >= step[1]:
        return manual[0]
    return step[0].volume
