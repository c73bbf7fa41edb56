"""Scheduling settings, one section of the controller's configuration (``[schedules]``).

The guardrail settings here are the base values for the whole installation; units override
them individually (see :mod:`schedules.guardrails`).
"""

from __future__ import annotations

from dataclasses import dataclass

from loaxa.config import setting
from schedules.guardrails import Guardrails

_D = Guardrails()


@dataclass(frozen=True)
class ScheduleSettings:
    horizon_hours: int = setting(48, "how far ahead each device's plan reaches, in hours")
    quiet_start: str = setting(f"{_D.quiet_start:%H:%M}", "local time quiet hours begin (nothing non-emergency airs without an override)")
    quiet_end: str = setting(f"{_D.quiet_end:%H:%M}", "local time quiet hours end; equal to quiet_start means no quiet hours")
    max_programmes_per_day: int | None = setting(_D.max_programmes_per_day, "programmes a device may air per local day (empty: no cap)")
    max_minutes_per_programme: float | None = setting(_D.max_minutes_per_programme, "minutes one programme may last (empty: no cap)")
    weekend_days: list[int] = setting(sorted(_D.weekend_days), "days the weekend rules apply to, 0 = Monday … 6 = Sunday")
    weekend_normal_allowed: bool = setting(_D.weekend_normal_allowed, "whether normal-priority broadcasts may air on weekend days")
    weekend_max_programmes_per_day: int | None = setting(None, "programmes per weekend day (empty: as on weekdays)")
    weekend_max_minutes_per_programme: float | None = setting(None, "minutes per programme on weekend days (empty: as on weekdays)")
    reading_limit_minutes: float | None = setting(15.0, "a reading longer than this many minutes is flagged before submission and approval (empty: no flag)")

    def guardrails(self) -> Guardrails:
        """The installation's base guardrails, validated like any unit override."""
        return Guardrails().with_overrides(
            {
                "quiet_start": self.quiet_start,
                "quiet_end": self.quiet_end,
                "max_programmes_per_day": self.max_programmes_per_day,
                "max_minutes_per_programme": self.max_minutes_per_programme,
                "weekend_days": self.weekend_days,
                "weekend_normal_allowed": self.weekend_normal_allowed,
                "weekend_max_programmes_per_day": self.weekend_max_programmes_per_day,
                "weekend_max_minutes_per_programme": self.weekend_max_minutes_per_programme,
            }
        )
