"""Settings of log and event retention (the ``[retention]`` section).

The audit trail and the playback logbook are evidence of what was said to whom: no
setting may keep them for less than ``minimum_days``, and a configuration asking for less
is refused at start instead of silently deleting what an inspection may still ask for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from controller.reports.evidence_floor import MINIMUM_DAYS
from loaxa.config import ConfigError, setting
from loaxa.protocol import ProtocolError, public_key_from_text

KEEP_FOREVER = 0
SENDER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


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
    heads_copy_url: str = setting("", "a second controller or the province's server that receives each signed copy of the chain heads (HTTP POST, e.g. https://province.example:8443/api/heads-copies/<this controller's name>); empty: poles only")
    heads_copy_cafile: str = setting("", "CA certificate verifying an https:// heads_copy_url (the receiver's deployment CA); empty: the system's")
    heads_copy_senders: list[str] = setting(
        [], "controllers whose signed chain heads this one keeps (POST /api/heads-copies/<name>), each 'name=public key "
            "(base64, from their GET /api/pubkey)'; a name may be listed with several keys (rotation)")

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
        for entry in self.heads_copy_senders:
            name, eq, key = entry.partition("=")
            if not eq or not SENDER_NAME_RE.match(name.strip()) or not key.strip():
                raise ConfigError(f"retention.heads_copy_senders: {entry!r} is not 'name=public key' "
                                  "(name: letters, digits, '-', '_', '.')")
            try:
                public_key_from_text(key)
            except ProtocolError:
                raise ConfigError(f"retention.heads_copy_senders: the key of {name.strip()!r} is not a base64 "
                                  "Ed25519 public key (the sender's GET /api/pubkey 'public_key')") from None
        hh, _, mm = self.run_at.partition(":")
        if not (hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
            raise ConfigError(f"retention.run_at must be a UTC time of day as HH:MM, got {self.run_at!r}")

    @property
    def run_hour(self) -> int:
        return int(self.run_at.partition(":")[0])

    @property
    def run_minute(self) -> int:
        return int(self.run_at.partition(":")[2])
