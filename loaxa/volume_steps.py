"""Which step of a daily volume schedule is in force: the one rule the controller and the agents share."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Sequence

from loaxa.local_time import LOCAL_TZ
from loaxa.protocol import VolumeStep


def current_step(steps: Sequence[VolumeStep], now: datetime) -> tuple[VolumeStep, datetime] | None:
    """The step in force at ``now`` and the instant it began (steps repeat daily, in local time)."""
    if not steps:
        return None
    ordered = sorted(steps, key=lambda s: s.at)
    local = now.astimezone(LOCAL_TZ)
    for day in (0, 1):
        base = (local - timedelta(days=day)).replace(second=0, microsecond=0)
        for step in reversed(ordered):
            h, m = map(int, step.at.split(":"))
            began = base.replace(hour=h, minute=m)
            if began <= local:
                return step, began
    return None
