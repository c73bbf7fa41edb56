"""The life of an alert: Alert, Update, Cancel, expiry, and disappearance from a feed.

An :class:`AlertBook` remembers every alert it was shown and answers each new message with a
:class:`Transition` saying what changed; the service turns transitions into plan changes.
Identity is ``(sender, identifier)``; ``<references>`` name earlier messages the same way.

- An Update ends what it references and replaces its future repeats.
- A Cancel ends what it references and removes its future repeats (an all-clear may air).
- A feed that drops alerts instead of cancelling them (FMI SmartAlert does) only marks them
  gone: they end at their ``expires``, never earlier, because disappearance may be a glitch.
- An alert without ``expires`` ends after the policy's maximum lifetime.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Iterable

from controller.alerts.cap import Alert

ACTIVE, SUPERSEDED, CANCELLED, EXPIRED = "active", "superseded", "cancelled", "expired"
NEW, UPDATE, CANCEL, DUPLICATE, IGNORED = "new", "update", "cancel", "duplicate", "ignored"

Key = tuple[str, str]


@dataclass(frozen=True)
class Entry:
    alert: Alert
    state: str
    ends_at: datetime
    on_feed: bool = True
    ended_by: Key | None = None

    @property
    def key(self) -> Key:
        return self.alert.key


@dataclass(frozen=True)
class Transition:
    kind: str
    key: Key
    ended: tuple[Key, ...] = ()
    reason: str = ""


def plan_repeats(start: datetime, every: timedelta, ends_at: datetime, limit: int = 500) -> tuple[datetime, ...]:
    """Airings from ``start`` every ``every`` while before ``ends_at`` (the first always, if in time)."""
    out: list[datetime] = []
    moment = start
    while moment < ends_at and len(out) < limit:
        out.append(moment)
        moment += every
    return tuple(out)


def replace_future(old: Iterable[datetime], new: Iterable[datetime], now: datetime) -> tuple[datetime, ...]:
    """Keep what already aired from ``old``, take the future from ``new``."""
    return tuple(sorted([t for t in old if t <= now] + [t for t in new if t > now]))


class AlertBook:
    """All alerts seen, by key. Not thread-safe: one service owns it."""

    def __init__(self, entries: Iterable[Entry] = ()):
        self._entries: dict[Key, Entry] = {e.key: e for e in entries}

    def get(self, key: Key) -> Entry | None:
        return self._entries.get(key)

    def active(self) -> list[Entry]:
        return [e for e in self._entries.values() if e.state == ACTIVE]

    def receive(self, alert: Alert, now: datetime, max_lifetime: timedelta) -> Transition:
        known = self._entries.get(alert.key)
        if known is not None:
            if known.alert.sent == alert.sent:
                self._entries[alert.key] = replace(known, on_feed=True)
                return Transition(DUPLICATE, alert.key, reason="đã nhận bản tin này")
            if known.alert.sent > alert.sent:
                return Transition(IGNORED, alert.key, reason="bản tin cũ hơn bản đã nhận")
        referenced = [r.key for r in alert.references if r.key in self._entries and r.key != alert.key]
        if alert.msg_type in ("Update", "Cancel") and known is not None:
            referenced.append(alert.key)
        live = tuple(k for k in dict.fromkeys(referenced) if self._entries[k].state == ACTIVE)
        if alert.msg_type == "Cancel":
            for k in live:
                self._entries[k] = replace(self._entries[k], state=CANCELLED, ends_at=now, ended_by=alert.key)
            self._entries[alert.key] = Entry(alert, CANCELLED, now, ended_by=alert.key)
            if not live:
                return Transition(IGNORED, alert.key, reason="lệnh hủy không khớp cảnh báo nào đang hiệu lực")
            return Transition(CANCEL, alert.key, live, "cơ quan ban hành đã hủy")
        if alert.msg_type not in ("Alert", "Update"):
            return Transition(IGNORED, alert.key, reason=f"loại bản tin {alert.msg_type}")
        for k in live:
            self._entries[k] = replace(self._entries[k], state=SUPERSEDED, ends_at=now, ended_by=alert.key)
        ends_at = alert.expires or (alert.sent + max_lifetime)
        state = ACTIVE if ends_at > now else EXPIRED
        self._entries[alert.key] = Entry(alert, state, ends_at)
        if state == EXPIRED:
            return Transition(IGNORED, alert.key, live, "đã hết hiệu lực khi nhận")
        if live or alert.msg_type == "Update":
            return Transition(UPDATE, alert.key, live, "bản cập nhật thay thế cảnh báo trước")
        return Transition(NEW, alert.key)

    def listed(self, source_keys: Iterable[Key], listing: Iterable[Key]) -> list[Key]:
        """A feed's current listing: alerts of this source not listed any more are marked gone (they keep airing
        until their ``expires``). Returns the keys newly gone."""
        present = set(listing)
        gone = []
        for k in source_keys:
            e = self._entries.get(k)
            if e is not None and e.state == ACTIVE and e.on_feed and k not in present:
                self._entries[k] = replace(e, on_feed=False)
                gone.append(k)
        return gone

    def expire(self, now: datetime) -> list[Key]:
        """End every active alert whose time is up; returns their keys."""
        ended = []
        for k, e in self._entries.items():
            if e.state == ACTIVE and e.ends_at <= now:
                self._entries[k] = replace(e, state=EXPIRED)
                ended.append(k)
        return ended

    def end(self, key: Key, now: datetime) -> None:
        """An official stopped the alert: it is over, like a cancelled one (a later Update still supersedes it)."""
        e = self._entries.get(key)
        if e is not None and e.state == ACTIVE:
            self._entries[key] = replace(e, state=CANCELLED, ends_at=now)
