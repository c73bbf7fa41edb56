"""Retention: prune old playback events, audit entries, skip records, notifications and unused media.

The audit trail and the playback logbook are hash chains (:mod:`controller.reports.hashchain`), so
they are pruned only by whole prefixes: for each chain, the rows before its first row
still inside the retention window go, and the last pruned row's hash becomes the chain's
anchor.  A chain whose prefix does not verify is left untouched (pruning it would erase
the evidence), and every run that prunes anything says so in the audit trail, with the new
anchors, so a later copy of the file can be checked against them.

Each anchor is signed with the controller's key and records the newest pruned row's time;
``loaxa audit verify`` accepts an anchor only with that signature, an age beyond
``minimum_days`` and a ``retention_pruned`` entry naming it (each run names every anchor,
so the newest entry always covers them all).  The configured ``minimum_days`` is written
to ``retention_floor``, which the delete triggers read.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from controller.reports import hashchain
from controller.reports.audit import AUDIT_CHAIN, PLAYBACK_CHAIN, AuditTrail
from controller.db import Database, apply_rollup, refresh_unit_rollup, rollup_deltas
from controller.operations.retention_settings import KEEP_FOREVER, RetentionSettings
from loaxa.wire_time import format_time, utcnow

log = logging.getLogger(__name__)

PACE = 1.0  # a prune rests as long as it worked: one chain's work, then as long again for ingest


@dataclass(frozen=True)
class RetentionReport:
    """What a run pruned (or, for a dry run, would prune)."""

    dry_run: bool
    playback_events: int = 0
    audit_entries: int = 0
    plan_skips: int = 0
    notifications: int = 0
    media: tuple[str, ...] = ()
    skipped_chains: tuple[str, ...] = ()
    anchors: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.playback_events + self.audit_entries + self.plan_skips + self.notifications + len(self.media)

    def summary(self) -> str:
        verb = "would prune" if self.dry_run else "pruned"
        text = (f"{verb} {self.playback_events} playback events, {self.audit_entries} audit entries, "
                f"{self.plan_skips} plan skip records, {self.notifications} notifications, "
                f"{len(self.media)} unused media files")
        if self.skipped_chains:
            text += f"; left {len(self.skipped_chains)} chain(s) that do not verify untouched: {', '.join(self.skipped_chains)}"
        return text


def cutoff(now: datetime, days: int) -> str | None:
    """The timestamp before which rows are old, or None when they are kept forever."""
    return None if days == KEEP_FOREVER else format_time(now - timedelta(days=days))


class Retention:
    def __init__(self, db: Database, settings: RetentionSettings, media_dir: Path,
                 sign: hashchain.Sign | None = None, pace: float = PACE):
        """``sign``: the controller's key (``Keyring.sign_detached``); without it anchors are unsigned
        and ``loaxa audit verify`` refuses them. ``pace``: seconds of rest after each chain per second
        spent on it, so ingest keeps most of the processor while a month is pruned."""
        self.db = db
        self.pace = pace
        self.settings = settings
        self.media_dir = media_dir
        self.sign = sign
        with db.tx() as conn:
            conn.execute("UPDATE retention_floor SET minimum_days = ? WHERE id = 1", [settings.minimum_days])

    def run(self, *, dry_run: bool = False, now: datetime | None = None) -> RetentionReport:
        """Prune everything that has outlived its setting, each table in its own transaction."""
        now = now or utcnow()
        at = format_time(now)
        s = self.settings
        skipped: list[str] = []
        anchors: dict[str, int] = {}
        events = self._prune_chain(PLAYBACK_CHAIN, "device_id", cutoff(now, s.playback_events_days),
                                   ("recorded_at", "received_at"), at, dry_run, skipped, anchors)
        audits = self._prune_chain(AUDIT_CHAIN, None, cutoff(now, s.audit_days), ("at",), at, dry_run, skipped, anchors)
        skips = self._prune_skips(cutoff(now, s.plan_skips_days), dry_run)
        notices = self._prune_notifications(cutoff(now, s.notifications_days), dry_run)
        media = self._prune_media(cutoff(now, s.media_days), dry_run)
        if not dry_run:
            self._refresh_stale_units()
        report = RetentionReport(dry_run, events, audits, skips, notices, tuple(media), tuple(skipped), anchors)
        if report.total and not dry_run:
            AuditTrail(self.db).record("system", "retention_pruned", details={
                "playback_events": events, "audit_entries": audits, "plan_skips": skips,
                "notifications": notices, "media": len(media),
                "pruned": anchors, "anchors": self._all_anchors()})
        if report.total or skipped:
            log.info("retention: %s", report.summary())
        return report

    def _refresh_stale_units(self) -> None:
        """Rebuild the unit rollup of the units whose devices changed (marked stale by ``m065``'s
        triggers; read device by device until then), one unit a transaction."""
        with self.db.tx() as db:
            stale = [r[0] for r in db.execute("SELECT unit_id FROM playback_unit_rollup_stale").fetchall()]
        for unit in stale:
            with self.db.tx() as db:
                refresh_unit_rollup(db.conn, [unit])
        if stale:
            log.info("retention: the unit rollup of %d unit(s) rebuilt from their events", len(stale))

    def _all_anchors(self) -> dict[str, dict[str, object]]:
        """Every anchor as the audit entry names it (so pruning old audit entries never orphans one)."""
        with self.db.tx() as db:
            return {r[0]: {"length": r[1], "hash": r[2], "last_id": r[3]} for r in db.execute(
                "SELECT chain, length, hash, last_id FROM chain_anchors ORDER BY chain")}

    # chains --------------------------------------------------------------------------
    def _prune_chain(self, spec: hashchain.ChainSpec, chain_column: str | None, before: str | None,
                     time_columns: tuple[str, ...], at: str, dry_run: bool, skipped: list[str],
                     anchors: dict[str, int]) -> int:
        """Prune, per chain, the rows before the chain's first row that is still young.

        Each chain (one per device) is read and verified on a connection of the run's own, in a
        snapshot that takes no lock, so ingest keeps storing meanwhile; then its prefix goes in
        a short write transaction (the anchor, the delete, and for playback events the rollup
        rows they counted in). Rows are never changed once written, and ingest only appends
        above the snapshot, so the prefix checked is exactly the prefix deleted. Between two
        chains the run rests (``pace``): ingest shares one process and its two cores with it.
        """
        if before is None:
            return 0
        young = " OR ".join(f"{c} >= ?" for c in time_columns)
        young_params = [before] * len(time_columns)
        total = 0
        broken: list[str] = []
        side = self.db.side_connection()
        began: float | None = None
        try:
            for chain in self._chains(spec, chain_column):
                if self.pace and began is not None:
                    time.sleep((time.perf_counter() - began) * self.pace)
                began = time.perf_counter()
                where, params = (f"{chain_column} = ?", [chain]) if chain_column else ("1", [])
                with self.db.snapshot_on(side) as db:
                    first = time_columns[0]
                    if db.execute(f"SELECT 1 FROM {spec.table} WHERE {where} AND {first} < ? AND NOT ({young}) LIMIT 1",
                                  [*params, before, *young_params]).fetchone() is None:
                        continue  # nothing old in this chain
                    keep_from = db.execute(f"SELECT MIN(id) FROM {spec.table} WHERE {where} AND ({young})",
                                           [*params, *young_params]).fetchone()[0]
                    if not hashchain.prefix_intact(db, spec, chain, where, params, keep_from):
                        broken.append(hashchain.chain_key(spec, chain))
                        continue
                    if keep_from is None:  # the whole chain is old: rows stored after this snapshot stay
                        keep_from = db.execute(f"SELECT MAX(id) + 1 FROM {spec.table} WHERE {where}", params).fetchone()[0]
                    if dry_run:
                        total += db.execute(f"SELECT COUNT(*) FROM {spec.table} WHERE {where} AND id < ?",
                                            [*params, keep_from]).fetchone()[0]
                        continue
                    deltas = self._rollup_out(db, spec, where, params, keep_from)
                with self.db.tx_on(side) as db:
                    pruned = hashchain.prune_prefix(db, spec, chain, where, params, keep_from, at, time_columns,
                                                    self.sign)
                    if pruned:
                        apply_rollup(db.conn, deltas)
                        key = hashchain.chain_key(spec, chain)
                        anchors[key] = db.execute("SELECT length FROM chain_anchors WHERE chain = ?", [key]).fetchone()[0]
                        total += pruned
        finally:
            side.conn.close()
        skipped.extend(broken)
        for chain in broken:
            log.error("retention: chain %s does not verify; it is not pruned (run 'loaxa audit verify')", chain)
        return total

    @staticmethod
    def _rollup_out(db: Any, spec: hashchain.ChainSpec, where: str, params: list[Any],
                    keep_from: int) -> dict[tuple[str, str], list[int]]:
        """What the playback events about to be pruned counted in the rollup (taken out with them, so
        the rollup always describes exactly the events a report would read)."""
        if spec is not PLAYBACK_CHAIN:
            return {}
        cur = db.execute(f"SELECT device_id, kind, item_id, planned_at, actual_start, recorded_at, duration_s "
                         f"FROM {spec.table} WHERE {where} AND id < ?", [*params, keep_from])
        names = [d[0] for d in cur.description]
        return rollup_deltas((dict(zip(names, r)) for r in cur), sign=-1)

    def _chains(self, spec: hashchain.ChainSpec, chain_column: str | None) -> list[str]:
        """The chains of ``spec``: one per value of ``chain_column`` (read from the chain heads, which
        every stored row moves), or the single chain of a table without one."""
        if chain_column is None:
            return ["all"]
        prefix = hashchain.chain_key(spec, "")
        with self.db.tx() as db:
            return [r[0][len(prefix):] for r in db.execute(
                "SELECT chain FROM chain_heads WHERE substr(chain, 1, ?) = ? ORDER BY chain", [len(prefix), prefix])]

    # plain tables ----------------------------------------------------------------------
    def _prune_skips(self, before: str | None, dry_run: bool) -> int:
        if before is None:
            return 0
        with self.db.tx() as db:
            if dry_run:
                return db.execute("SELECT COUNT(*) FROM plan_skips WHERE slot_at < ?", [before]).fetchone()[0]
            return db.execute("DELETE FROM plan_skips WHERE slot_at < ?", [before]).rowcount

    def _prune_notifications(self, before: str | None, dry_run: bool) -> int:
        """Old notices go with everyone's copy in the bell and their delivery attempts; a notice with a
        delivery still pending stays until that delivery is sent or given up (nothing is cut mid-retry)."""
        if before is None:
            return 0
        old = ("SELECT id FROM notifications n WHERE created_at < ? AND NOT EXISTS ("
               "SELECT 1 FROM notification_deliveries d WHERE d.notification_id = n.id AND d.status = 'pending')")
        with self.db.tx() as db:
            if dry_run:
                return db.execute(f"SELECT COUNT(*) FROM ({old})", [before]).fetchone()[0]
            for table in ("notification_deliveries", "notification_inbox"):
                db.execute(f"DELETE FROM {table} WHERE notification_id IN ({old})", [before])
            return db.execute(f"DELETE FROM notifications WHERE id IN ({old})", [before]).rowcount

    def _prune_media(self, before: str | None, dry_run: bool) -> list[str]:
        """Media made before ``before`` that no bulletin, stored device plan, live session's recording or
        relay source's notice refers to (a live recording is the record of what was said: it stays)."""
        if before is None:
            return []
        with self.db.tx() as db:
            rows = db.execute(
                """SELECT sha256, ext FROM media m WHERE created_at < ?
                   AND NOT EXISTS (SELECT 1 FROM bulletins b WHERE b.media_sha256 = m.sha256)
                   AND NOT EXISTS (SELECT 1 FROM bulletins b JOIN media o ON o.sha256 = b.media_sha256
                                   WHERE o.fallback_sha256 = m.sha256)
                   AND NOT EXISTS (SELECT 1 FROM device_plans p WHERE instr(CAST(p.payload AS TEXT), m.sha256) > 0)
                   AND NOT EXISTS (SELECT 1 FROM live_sessions l WHERE l.archive_sha256 = m.sha256)
                   AND NOT EXISTS (SELECT 1 FROM relay_sources r WHERE r.fallback_media_sha256 = m.sha256)""",
                [before]).fetchall()
            if not dry_run:
                db.conn.executemany("DELETE FROM media WHERE sha256 = ?", [(sha,) for sha, _ in rows])
        if not dry_run:
            for sha, ext in rows:
                for path in {self.media_dir / f"{sha}.{ext}", *self.media_dir.glob(f"{sha}.*")}:
                    path.unlink(missing_ok=True)
        return [sha for sha, _ in rows]
