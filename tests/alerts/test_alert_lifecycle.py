"""Alert, Update, Cancel, expiry and disappearance, with the repeats they plan."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from support.cap_docs import SENDER, vi_alert
from controller.alerts.cap import parse_alert
from controller.alerts.lifecycle import (ACTIVE, CANCEL, CANCELLED, DUPLICATE, EXPIRED, IGNORED, NEW, SUPERSEDED,
                                         UPDATE, AlertBook, plan_repeats, replace_future)

T0 = datetime(2026, 9, 6, 1, 0, tzinfo=timezone.utc)
LIFE = timedelta(hours=24)


def msg(identifier, sent, expires=None, **kw):
    return parse_alert(vi_alert(identifier, sent=sent, expires=expires, **kw))


def test_repeats_every_interval_until_expiry():
    times = plan_repeats(T0, timedelta(minutes=30), T0 + timedelta(hours=2))
    assert times == tuple(T0 + timedelta(minutes=m) for m in (0, 30, 60, 90))
    assert plan_repeats(T0, timedelta(minutes=30), T0) == ()


def test_update_replaces_the_future_repeats_only():
    old = plan_repeats(T0, timedelta(minutes=30), T0 + timedelta(hours=2))
    now = T0 + timedelta(minutes=40)
    new = plan_repeats(now, timedelta(minutes=20), T0 + timedelta(hours=1, minutes=30))
    assert replace_future(old, new, now) == (T0, T0 + timedelta(minutes=30), now + timedelta(minutes=20),
                                             now + timedelta(minutes=40))


def test_alert_then_update_then_cancel():
    book = AlertBook()
    first = msg("SH-1", T0, T0 + timedelta(hours=6))
    assert book.receive(first, T0, LIFE).kind == NEW
    assert book.receive(first, T0 + timedelta(minutes=1), LIFE).kind == DUPLICATE  # the feed lists it again
    upd = msg("SH-2", T0 + timedelta(hours=1), T0 + timedelta(hours=8), msg_type="Update", references=(("SH-1", T0),))
    t = book.receive(upd, T0 + timedelta(hours=1), LIFE)
    assert (t.kind, t.ended) == (UPDATE, ((SENDER, "SH-1"),))
    assert book.get((SENDER, "SH-1")).state == SUPERSEDED and book.get((SENDER, "SH-2")).state == ACTIVE
    cancel = msg("SH-3", T0 + timedelta(hours=2), None, msg_type="Cancel",
                 references=(("SH-1", T0), ("SH-2", T0 + timedelta(hours=1))))
    t = book.receive(cancel, T0 + timedelta(hours=2), LIFE)
    assert (t.kind, t.ended) == (CANCEL, ((SENDER, "SH-2"),))  # SH-1 had ended already
    assert book.get((SENDER, "SH-2")).state == CANCELLED and book.active() == []


def test_cancel_of_something_unknown_changes_nothing():
    book = AlertBook()
    t = book.receive(msg("SH-9", T0, None, msg_type="Cancel", references=(("SH-X", T0),)), T0, LIFE)
    assert t.kind == IGNORED and book.active() == []


def test_expiry_and_default_lifetime():
    book = AlertBook()
    book.receive(msg("SH-1", T0, T0 + timedelta(hours=1)), T0, LIFE)
    book.receive(msg("SH-2", T0, None), T0, LIFE)
    assert book.get((SENDER, "SH-2")).ends_at == T0 + LIFE
    assert book.expire(T0 + timedelta(minutes=59)) == []
    assert book.expire(T0 + timedelta(hours=1)) == [(SENDER, "SH-1")]
    assert book.get((SENDER, "SH-1")).state == EXPIRED
    late = book.receive(msg("SH-3", T0, T0 + timedelta(minutes=5)), T0 + timedelta(minutes=10), LIFE)
    assert late.kind == IGNORED


def test_disappearing_from_the_feed_ends_nothing_before_expires():
    book = AlertBook()
    book.receive(msg("SH-1", T0, T0 + timedelta(hours=3)), T0, LIFE)
    keys = [(SENDER, "SH-1")]
    assert book.listed(keys, keys) == []
    assert book.listed(keys, []) == keys
    assert book.listed(keys, []) == []  # reported once
    entry = book.get(keys[0])
    assert entry.state == ACTIVE and not entry.on_feed
    assert book.expire(T0 + timedelta(hours=3)) == keys
