"""The planner's expansion: approved broadcasts laid out as wire items, device by device.

Plans are set-based: one query for the tree, one for the approved broadcasts with their
media, one :func:`schedules.programme.expand` over all of them (which works once per class
of identically planned devices), so 5,000 devices cost little more than 50.  The domain
decides *what* plays *when*; this module only turns its plays into wire ``PlayItem``s.

Two packages read the same expansion: the device plans (:mod:`controller.plans.planner`)
and the compliance report (:mod:`controller.reports.logbook`), so a report of what was
planned agrees with what devices were told to play.  The reports sit below the plans (the
plans write the audit trail), so the expansion sits below both, beside the database.

Broadcast rules are whole minutes.  A one-off entered to the second (``+90s`` from the CLI,
machines calling the API) keeps its seconds as an offset applied after the expansion: it
starts at its own second, and the plays after it in its programme move only as far as it
pushes them (see :func:`_starts`); guardrails are judged at minute precision, which is all
they need.
"""

from __future__ import annotations

import json
import logging
import weakref
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable

from controller.db import Database
from loaxa.local_time import UTC, to_local
from loaxa.protocol import PlayItem, StreamRef
from loaxa.wire_time import format_time, parse_time
from schedules.broadcast import Broadcast, Override
from schedules.errors import ScheduleInputError
from schedules.guardrails import GuardrailPolicy
from schedules.programme import Expansion, expand
from schedules.rules import BroadcastRule
from schedules.tree import AdminTree, Device, Unit

log = logging.getLogger(__name__)

LOOKBACK = timedelta(hours=6)
# SQL over a bulletin ``b`` left-joined to its media ``m``: its airtime (the media's, or the relay slot's), NULL if none
PLAYABLE_S = "COALESCE(m.duration_s, b.relay_duration_s)"
EXPIRY_GRACE = timedelta(minutes=10)


@dataclass(frozen=True)
class Media:
    sha256: str
    ext: str
    size: int
    duration_s: float


@dataclass(frozen=True)
class StoredBroadcast:
    """An approved broadcast as the planner needs it: the domain object, its media, its seconds offset."""

    broadcast: Broadcast
    media: Media
    offset_s: float
    title: str
    relay_source_id: str | None = None


@dataclass(frozen=True)
class RelayWindow:
    """A slot during which a relay source must be on air at its mount: the controller restreams it."""

    source_id: str
    start: datetime
    end: datetime


StreamRefs = Callable[[str, str], "StreamRef | None"]
"""(device id, relay source id) → the signed address the device listens at, None when it may not."""


_trees: weakref.WeakKeyDictionary[Database, tuple[int, AdminTree]] = weakref.WeakKeyDictionary()


def load_tree(db: Database) -> AdminTree:
    """The administrative tree, rebuilt only when ``tree_version`` says units or devices changed.

    A province's tree (10,000 devices, 12,500 units) takes a quarter of a second to build,
    and every report and plan rebuild needs it.  The tree is immutable, so one copy is
    shared.  Inside a caller's transaction the rows may be uncommitted: that tree is built
    afresh and not kept.
    """
    outer = db.db.conn.in_transaction
    with db.tx() as conn:
        version = conn.execute("SELECT n FROM tree_version").fetchone()[0]
        cached = _trees.get(db)
        if cached is not None and cached[0] == version:
            return cached[1]
        units = [Unit(r[0], r[1], r[2], r[3]) for r in conn.execute("SELECT id, name, parent_id, level FROM units")]
        devices = [Device(r[0], r[1], r[2]) for r in conn.execute("SELECT id, unit_id, name FROM devices")]
    tree = AdminTree(units, devices)
    if not outer:
        _trees[db] = (version, tree)
    return tree


def rule_of(row: dict[str, Any]) -> tuple[BroadcastRule, float]:
    """The stored rule and the seconds offset of its slots (older rows only have ``starts_at``)."""
    if row.get("rule_json"):
        data = json.loads(row["rule_json"])
        return BroadcastRule.from_dict(data), float(data.get("offset_s", 0.0))
    start = parse_time(row["starts_at"], "starts_at")
    return once_at(start)


def once_at(start: datetime) -> tuple[BroadcastRule, float]:
    """A one-off rule for an exact instant: its minute as the slot, the rest as an offset."""
    local = to_local(start)
    slot = local.replace(second=0, microsecond=0)
    return BroadcastRule.once(slot.date(), slot.time().replace(tzinfo=None)), (local - slot).total_seconds()


def domain_broadcast(row: dict[str, Any], duration_s: float) -> Broadcast:
    rule, offset_s = rule_of(row)
    override = Override.from_dict(json.loads(row["override_json"])) if row.get("override_json") else None
    return Broadcast(
        id=row["id"], rule=rule, targets=frozenset(json.loads(row["targets_json"])), duration_s=duration_s,
        priority=row["priority"], order=int(row.get("order_no") or 0), override=override, title=row.get("title") or "",
        second=offset_s,
    )


def load_approved(db: Database, window_start: datetime, window_end: datetime,
                  status: str = "approved") -> dict[str, StoredBroadcast]:
    """Scheduled broadcasts in ``status`` (approved: what plans hold) that may play in the window, with their media."""
    with db.tx() as conn:
        rows = list(conn.query(
            f"""SELECT bc.*, b.title, b.relay_source_id, m.sha256, m.ext, m.size, {PLAYABLE_S} AS duration_s
               FROM broadcasts bc JOIN bulletins b ON b.id = bc.bulletin_id
               LEFT JOIN media m ON m.sha256 = b.media_sha256
               WHERE bc.status = ? AND bc.kind = 'scheduled' AND {PLAYABLE_S} IS NOT NULL
                 AND bc.starts_at <= ? AND COALESCE(bc.ends_at, bc.starts_at) >= ?""",
            [status, format_time(window_end), format_time(window_start)],
        ))
    out: dict[str, StoredBroadcast] = {}
    for r in rows:
        try:
            _, offset = rule_of(r)
            relay = r["relay_source_id"] if not r["sha256"] else None
            media = Media("", "ogg", 0, r["duration_s"]) if relay else Media(r["sha256"], r["ext"], r["size"], r["duration_s"])
            out[r["id"]] = StoredBroadcast(domain_broadcast(r, r["duration_s"]), media, offset, r["title"] or "", relay)
        except (ScheduleInputError, ValueError, KeyError) as exc:
            log.error("broadcast %s cannot be planned: %s", r["id"], exc)
    return out


def planned_items(db: Database, policy: GuardrailPolicy, since: datetime, until: datetime,
                  device_ids: Iterable[str] | None = None, status: str = "approved",
                  tree: AdminTree | None = None) -> dict[str, tuple[PlayItem, ...]]:
    """Per device, the items the planner lays out for plays starting in [since, until).

    The same expansion and the same item ids as the device plans (:func:`controller.plans.planner.build_plans`), so
    a report of what was planned agrees with what devices were told to play.  ``status``
    "cancelled" lays out the cancelled broadcasts on their own, to show them in a logbook.
    Only ``device_ids`` are expanded, so a commune's report costs that commune's devices.
    """
    tree = tree or load_tree(db)
    stored = load_approved(db, since - LOOKBACK, until + LOOKBACK, status)
    wanted = None if device_ids is None else sorted(d for d in set(device_ids) if tree.is_device(d))
    expansion = expand([s.broadcast for s in stored.values()], tree, policy, since - LOOKBACK, until + LOOKBACK,
                       devices=wanted)
    return wire_items(tree, expansion, stored, since, until, device_ids, drop_finished=False)


def no_streams(device_id: str, source_id: str) -> None:
    return None


def _addressed(item: PlayItem, device_id: str, source_id: str, streams: StreamRefs) -> PlayItem | None:
    ref = streams(device_id, source_id)
    if ref is None:
        log.warning("relay %s left out of the plan of %s: no stream address", item.item_id, device_id)
        return None
    return replace(item, stream=ref)


def cancelled_items(db: Database, policy: GuardrailPolicy, since: datetime, until: datetime,
                    device_ids: Iterable[str] | None = None,
                    tree: AdminTree | None = None) -> dict[str, tuple[PlayItem, ...]]:
    """Per device, the items that one-by-one cancelled occurrences of approved broadcasts would have been.

    They are laid out by the same expansion with the cancellations undone, so a report can
    show each cancelled occurrence under the item id its plan would have used.
    """
    stored = load_approved(db, since - LOOKBACK, until + LOOKBACK)
    restored: dict[str, StoredBroadcast] = {}
    prefixes: list[str] = []
    for key, s in stored.items():
        rule = s.broadcast.rule
        if rule.cancelled:
            whole = replace(rule, cancelled=frozenset())
            restored[key] = replace(s, broadcast=replace(s.broadcast, rule=whole))
            prefixes.extend(f"{key}-{t.astimezone(UTC):%Y%m%d%H%M}-" for t in rule.cancelled)
    if not restored:
        return {}
    tree = tree or load_tree(db)
    wanted = None if device_ids is None else sorted(d for d in set(device_ids) if tree.is_device(d))
    expansion = expand([s.broadcast for s in restored.values()], tree, policy, since - LOOKBACK, until + LOOKBACK,
                       devices=wanted)
    items = wire_items(tree, expansion, restored, since, until, device_ids, drop_finished=False)
    return {d: tuple(i for i in its if i.item_id.startswith(tuple(prefixes))) for d, its in items.items()}


def _starts(plays: Iterable[Any], stored: dict[str, StoredBroadcast]) -> list[tuple[Any, datetime]]:
    """Each play's instant: its own second within its minute, and never before the one ahead of it ends.

    The expansion lays a minute's plays end to end from the minute's start.  A play entered to the
    second starts at that second; the plays after it in the same programme move only as far as it
    pushes them, so two one-offs in one minute each keep their own second when there is room.
    """
    out: list[tuple[Any, datetime]] = []
    shift: dict[datetime, timedelta] = {}
    for p in sorted(plays, key=lambda p: (p.slot_utc, p.start_utc)):
        own = p.slot_utc + timedelta(seconds=stored[p.broadcast_id].offset_s)
        start = max(p.start_utc + shift.get(p.slot_utc, timedelta(0)), own)
        shift[p.slot_utc] = start - p.start_utc
        out.append((p, start))
    return out


def wire_items(tree: AdminTree, expansion: Expansion, stored: dict[str, StoredBroadcast], since: datetime,
           until: datetime, device_ids: Iterable[str] | None, drop_finished: bool = True,
           streams: StreamRefs | None = None,
           windows: dict[tuple[str, datetime], RelayWindow] | None = None) -> dict[str, tuple[PlayItem, ...]]:
    """The expansion's plays as wire items starting before ``until``: with ``drop_finished`` those
    still playing or to come at ``since`` (a plan), otherwise those starting from ``since`` (a report).

    With ``streams`` a relay's item gets each device's stream address (a report keeps the bare item)."""
    wanted = set(device_ids) if device_ids is not None else None
    by_device = expansion.by_device()
    cache: dict[tuple[str, datetime], PlayItem] = {}
    out: dict[str, tuple[PlayItem, ...]] = {}
    for device in tree.devices:
        if wanted is not None and device.id not in wanted:
            continue
        plays = by_device.get(device.id, ())
        items = []
        for p, start in _starts(plays, stored):
            before = start + timedelta(seconds=p.duration_s) < since if drop_finished else start < since
            if before or start >= until:
                continue
            key = (p.occurrence_key, start)
            item = cache.get(key)
            if item is None:
                s = stored[p.broadcast_id]
                item = cache[key] = PlayItem(
                    item_id=p.occurrence_key, start=start, sha256=s.media.sha256, size=s.media.size, ext=s.media.ext,
                    duration_s=s.media.duration_s, priority=p.priority,
                    expires_at=start + timedelta(seconds=p.duration_s) + EXPIRY_GRACE,
                    broadcast_id=p.broadcast_id, title=s.title[:200],
                )
            source_id = stored[p.broadcast_id].relay_source_id
            if source_id and windows is not None:
                windows.setdefault((source_id, item.start), RelayWindow(source_id, item.start, item.ends_at))
            if source_id and streams is not None:
                item = _addressed(item, device.id, source_id, streams)
                if item is None:
                    continue
            items.append(item)
        items.sort(key=lambda i: (i.start, i.item_id))
        out[device.id] = tuple(items)
    return out
