"""Settings of agent releases, rollouts and remote care (``[fleet]``)."""

from __future__ import annotations

from dataclasses import dataclass

from loaxa.config import ConfigError, setting


@dataclass(frozen=True)
class FleetSettings:
    release_public_key: str = setting("", "the release key (base64) every published release must be signed with; devices pin it at enrollment (empty: no releases)")
    canary_share: float = setting(0.05, "share of a rollout's devices updated first, as the canary wave (at least one device)")
    waves: int = setting(3, "waves after the canary that the rest of the devices are split into")
    failure_threshold: float = setting(0.2, "a rollout pauses when more than this share of a wave's devices fail")
    wave_timeout_s: float = setting(1800.0, "a device of a wave that has not reported its update after this long counts as failed")
    resend_s: float = setting(300.0, "a device that has not answered an update command gets it again after this long")
    tick_s: float = setting(5.0, "seconds between checks of running rollouts")
    diagnostics_max_bytes: int = setting(256 * 1024, "largest diagnostics upload accepted from one device")
    keep_diagnostics: int = setting(20, "diagnostics kept per device (older ones are deleted)")

    def __post_init__(self) -> None:
        if not 0 < self.canary_share <= 1:
            raise ConfigError(f"fleet.canary_share must be in (0, 1], got {self.canary_share}")
        if not 0 <= self.failure_threshold < 1:
            raise ConfigError(f"fleet.failure_threshold must be in [0, 1), got {self.failure_threshold}")
        if self.waves < 1:
            raise ConfigError(f"fleet.waves must be at least 1, got {self.waves}")
