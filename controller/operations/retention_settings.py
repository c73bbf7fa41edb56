"""Settings of log and event retention (the ``[retention]`` section).

The audit trail and the playback logbook are evidence of what was said to whom: no
setting may keep them for less than ``minimum_days``, and a configuration asking for less
is refused at start instead of silently deleting what an inspection may still ask for.
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.reports.evidence_floor import MINIMUM_DAYS
from loaxa.config import ConfigError, setting

KEEP_FOREVER = 0


@dataclass(frozen=True)
class RetentionSettings:
    minimum_days: int = setting(MINIMUM_DAYS, "the audit trail and playback logbook are never kept for less than this many days")
    playback_events_days: int = setting(730, "playback events (the logbook) older than this are pruned (0: keep forever)")
    audit_days: int = setting(1825, "audit trail entries older than this are pruned (0: keep forever)")
    media_days: int = setting(90, "media no bulletin or device plan refers to is deleted this long after it was made (0: never)")
    plan_skips_days: int = setting(30, "records of plays left out of plans are deleted after this many days (0: never)")
    notifications_days: int = setting(180, "notifications (the bell lists) and their e-mail and webhook delivery attempts are deleted after this many days, except deliveries still being tried (0: never)")
    run_at: str = setting("03:30", "UTC time of day the daily retention run starts (HH:MM)")
    heads_every_min: float = setting(60.0, "the chain heads are signed and shipped off the box this often: retained to every pole, and to heads_copy_url (0: never)")
    heads_copy_url: str = setting("", "a second controller or the province's server that receives each signed copy of the chain heads (HTTP POST); empty: poles only")

    def __post_init__(self) -> None:
        if self.minimum_days < 1:
            raise ConfigError(f"retention.minimum_days must be at least 1 day, got {self.minimum_days}")
        for name in ("playback_events_days", "audit_days"):
            value = getattr(self, name)
            if value != KEEP_FOREVER and value < self.minimum_days:
                raise ConfigError(
                    f"retention.{name} = {value} is below retention.minimum_days = {self.minimum_days}: "
                    f"the audit trail and logbook must be kept at least that long (0 keeps them forever)")
        for name in ("media_days", "plan_skips_days", "notifications_days"):
            if getattr(self, name) < 0:
                raise ConfigError(f"retention.{name} must be 0 (never) or a number of days, got {getattr(self, name)}")
        hh, _, mm = self.run_at.partition(":")
        if not (hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
            raise ConfigError(f"retention.run_at must be a UTC time of day as HH:MM, got {self.run_at!r}")

    @property
    def run_hour(self) -> int:
        return int(self.run_at.partition(":")[0])

    @property
    def run_minute(self) -> int:
        return int(self.run_at.partition(":")[2])
