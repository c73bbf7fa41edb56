"""The cluster's volume over the day, from the signed plan: each step applied when its time comes.

A step is applied once, when it begins (or when a plan brings a new schedule, for the step
in force then); a volume set by hand in between holds until the next step.  The pole keeps
following its schedule offline, since the steps live in the plan it stores.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable, Sequence

from loaxa.protocol import VolumeStep
from loaxa.volume_steps import current_step

log = logging.getLogger(__name__)


class VolumeScheduler:
    def __init__(self, apply: Callable[[int], None], steps: Callable[[], Sequence[VolumeStep]]):
        self.apply = apply
        self.steps = steps
        self._applied: tuple[tuple[tuple[str, int], ...], datetime] | None = None

    def tick(self, now: datetime) -> int | None:
        """Apply the step in force if it has not been applied yet; returns the volume applied, if any."""
        steps = tuple(self.steps())
        found = current_step(steps, now)
        if found is None:
            self._applied = None
            return None
        step, began = found
        key = (tuple((s.at, s.volume) for s in steps), began)
        if key == self._applied:
            return None
        self._applied = key
        self.apply(step.volume)
        log.info("volume schedule: %d %% from %s", step.volume, step.at)
        return step.volume
