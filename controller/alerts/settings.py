"""Settings of official-warning intake (``[alerts]``)."""

from __future__ import annotations

from dataclasses import dataclass

from loaxa.config import ConfigError, setting


@dataclass(frozen=True)
class AlertSettings:
    tick_s: float = setting(5.0, "seconds between checks of approval countdowns and alert expiry")
    first_air_lead_s: float = setting(1.0, "a warning's first airing is set this far ahead, so every online cluster has it and starts together, on time (raise it where links are slow)")
    amplifier_warmup_s: float = setting(2.0, "how long the poles' amplifiers need before sound (the agents' [relay] warmup_s); they are switched on while a warning renders, so its first airing waits only for the longer of this and first_air_lead_s from that moment")
    max_lifetime_h: int = setting(24, "an alert without 'expires' ends this long after it was sent")
    all_clear_late_minutes: int = setting(30, "a device offline when an all-clear aired still plays it this long after")
    emergency_late_minutes: int = setting(60, "an emergency stays in the targeted devices' plans this long, so one offline at the moment plays it on reconnecting")
    render_retry_s: float = setting(10.0, "a warning whose sound could not be made is rendered again after this long, the wait doubling each time")
    render_retry_max_s: float = setting(300.0, "longest wait between two attempts at a warning's sound; attempts go on until the warning ends")
    min_cover: float = setting(0.0, "share of a unit an alert's polygon or circle must cover to select it (0: any overlap)")

    def __post_init__(self) -> None:
        if self.tick_s <= 0:
            raise ConfigError(f"alerts.tick_s must be positive, got {self.tick_s}")
        if not 0 <= self.first_air_lead_s <= 60:
            raise ConfigError(f"alerts.first_air_lead_s must be from 0 to 60, got {self.first_air_lead_s}")
        if not 0 <= self.amplifier_warmup_s <= 30:
            raise ConfigError(f"alerts.amplifier_warmup_s must be from 0 to 30, got {self.amplifier_warmup_s}")
        if not 1 <= self.max_lifetime_h <= 168:
            raise ConfigError(f"alerts.max_lifetime_h must be from 1 to 168, got {self.max_lifetime_h}")
        if not 0 <= self.min_cover < 1:
            raise ConfigError(f"alerts.min_cover must be in [0, 1), got {self.min_cover}")
        if not 0 < self.render_retry_s <= self.render_retry_max_s <= 3600:
            raise ConfigError("alerts.render_retry_s must be positive and at most render_retry_max_s (at most 3600)")
        if self.emergency_late_minutes < 0 or self.all_clear_late_minutes < 0:
            raise ConfigError("alerts late windows must not be negative")
