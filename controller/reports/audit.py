"""The append-only audit trail of administrative actions, and the chained tables' verification.

Who did what to what, when and from where: sign-ins (and failed ones), approvals,
emergencies, devices added or revoked, settings changed.  Every row is hash-chained
(:mod:`controller.reports.hashchain`); SQLite triggers refuse UPDATE and DELETE so a bug cannot
rewrite history, and ``loaxa audit verify`` finds what someone changed in the file itself.

Playback events form one chain per device: each device's logbook can be checked on its
own, and ingest of different devices never contends for one head row.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from controller.reports import hashchain
from controller.reports.anchors import check_anchors
from controller.reports.evidence_floor import MINIMUM_DAYS
from controller.db import Database
from controller.reports.hashchain import ChainReport, ChainSpec
from loaxa.wire_time import format_time, utcnow

if TYPE_CHECKING:
    from controller.people.actor import Actor

log = logging.getLogger(__name__)

AUDIT_CHAIN = ChainSpec(
    table="audit_log",
    fields=("at", "actor", "action", "target", "details", "ip"),
    chain_of=lambda row: "all",
)
PLAYBACK_CHAIN = ChainSpec(
    table="playback_events",
    fields=("device_id", "epoch", "seq", "kind", "item_id", "broadcast_id", "sha256", "plan_version", "planned_at",
            "actual_start", "duration_s", "reason", "flags", "level_dbfs", "recorded_at", "received_at"),
    chain_of=lambda row: row["device_id"],
    real_fields=("duration_s", "level_dbfs"),
)
CHAINS = (AUDIT_CHAIN, PLAYBACK_CHAIN)

# The closed vocabulary of the audit trail: every action the product records.  ``record``
# refuses any other name, so a new use case must add its action here (and an auditor can
# read the whole list in one place); tests/people/test_audit_vocabulary.py walks every call.
ACTIONS: frozenset[str] = frozenset({
    # people and sign-in
    "login", "login_failed", "login_throttled", "logout", "user_added", "user_updated", "user_disabled",
    "user_enabled", "password_changed", "token_created", "tokens_revoked",
    # the administrative tree and devices
    "unit_added", "device_added", "device_revoked", "device_enrolled", "enrollment_code_issued",
    "enrollment_refused", "device_volume", "device_test_tone", "device_flapping", "unit_volume",
    "volume_schedule_changed", "device_located",
    # the broker tree
    "broker_commune_added", "broker_commune_removed", "emergency_cut_off",
    # bulletins, broadcasts and their approval
    "bulletin_added", "broadcast_scheduled", "broadcast_edited", "broadcast_submitted", "broadcast_cancelled",
    "broadcast_approved", "broadcast_rejected", "emergency", "guardrails_changed",
    "broadcast_withdrawn", "broadcast_occurrence_cancelled", "broadcast_duplicate_confirmed",
    "emergency_unreached",
    # official warnings (CAP alerts)
    "alert_source_added", "alert_policy_set", "alert_uploaded", "alert_decision", "alert_approved", "alert_rejected",
    "alert_stopped", "unit_geography_imported", "alert_source_edited", "alert_source_disabled", "alert_source_enabled",
    "alert_render_failed", "alert_rendered",
    # live audio
    "relay_source_added", "relay_source_edited", "relay_source_removed", "relay_programme_added", "live_started",
    "live_ended",
    # security
    "kill_switch", "kill_switch_lifted", "key_rotated", "settings_changed",
    "device_epoch_new", "device_epoch_reviewed", "playback_events_refused", "chain_heads_conflict",
    "device_key_requested", "device_key_registered",
    # the fleet and remote care
    "fleet_rollout", "fleet_rollback", "fleet_rollout_resume", "fleet_rollout_paused",
    "device_restart_agent", "device_reboot", "device_diagnostics", "device_speaker_check", "device_started",
    # the commune dictionary of readings
    "dictionary_entry_set", "dictionary_entry_removed",
    # operations
    "retention_pruned",
    # reports taken out of the system (the audit trail, the logbook, the playback log)
    "report_exported",
})


class UnknownAuditAction(ValueError):
    """An action outside :data:`ACTIONS`: a bug in the calling use case, never user input."""


MAX_FIELD = 500
MAX_DETAILS = 8000


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    ip: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at, "actor": self.actor, "action": self.action, "target": self.target,
                "details": self.details, "ip": self.ip}


class AuditTrail:
    """Append and read the audit trail; ``record`` is safe to call inside another transaction."""

    def __init__(self, db: Database):
        self.db = db

    def record(self, actor: Actor | str, action: str, target: str = "", details: Mapping[str, Any] | None = None,
               ip: str = "") -> int:
        """Append one entry and return its id; it commits with the caller's transaction, if any.

        ``actor`` is the use case's :class:`~controller.people.actor.Actor` (its name and
        address are recorded) or, for the command line and jobs, a plain name.
        """
        if not isinstance(actor, str):
            actor, ip = actor.username, ip or actor.ip
        if action not in ACTIONS:
            raise UnknownAuditAction(f"audit action {action!r} is not in the audit vocabulary (ACTIONS)")
        text = json.dumps(dict(details or {}), ensure_ascii=False, sort_keys=True, default=str)
        if len(text) > MAX_DETAILS:
            text = json.dumps({"truncated": text[:MAX_DETAILS]}, ensure_ascii=False)
        row = {"at": format_time(utcnow()), "actor": str(actor)[:MAX_FIELD], "action": action,
               "target": str(target or "")[:MAX_FIELD], "details": text, "ip": str(ip or "")[:64]}
        ids: list[int] = []

        def insert(r: dict[str, Any]) -> bool:
            ids.append(db.execute(
                "INSERT INTO audit_log(at, actor, action, target, details, ip, prev_hash, hash) "
                "VALUES (:at, :actor, :action, :target, :details, :ip, :prev_hash, :hash)", r).lastrowid)
            return True

        with self.db.tx() as db:
            hashchain.append(db, AUDIT_CHAIN, "all", [row], insert)
        log.info("audit: %s %s %s from %s", row["actor"], action, row["target"], row["ip"] or "-")
        return ids[0]

    def entries(self, *, actor: str | None = None, action: str | None = None, target: str | None = None,
                since: str | None = None, until: str | None = None, limit: int = 500) -> list[AuditEntry]:
        """Newest first, filtered."""
        sql, params = log_query("SELECT id, at, actor, action, target, details, ip FROM audit_log",
                                {"actor": actor, "action": action, "target": target}, "at", since, until,
                                order_by="id DESC", limit=limit)
        with self.db.tx() as db:
            rows = db.execute(sql, params).fetchall()
        return [AuditEntry(r[0], r[1], r[2], r[3], r[4], _load(r[5]), r[6]) for r in rows]


def log_query(select: str, equal: Mapping[str, str | None], time_column: str, since: str | None, until: str | None,
              *, order_by: str, limit: int, where: Sequence[str] = (), params: Sequence[Any] = ()) -> tuple[str, list[Any]]:
    """SQL and parameters that read a chained log (audit trail, playback events) as its views filter it.

    ``equal`` columns given a value must match it; ``time_column`` lies in [since, until); ``where``
    and ``params`` are further conditions.
    """
    conditions, values = list(where), list(params)
    for column, value in equal.items():
        if value:
            conditions.append(f"{column} = ?")
            values.append(value)
    if since:
        conditions.append(f"{time_column} >= ?")
        values.append(since)
    if until:
        conditions.append(f"{time_column} < ?")
        values.append(until)
    if conditions:
        select += " WHERE " + " AND ".join(conditions)
    return f"{select} ORDER BY {order_by} LIMIT ?", [*values, limit]


def _load(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"raw": text}
    return value if isinstance(value, dict) else {"value": value}


def verify_all(db: Database, keys: Mapping[str, Any] | None = None, minimum_days: int | None = None,
               copies: Mapping[str, Sequence[tuple[int, str, str]]] | None = None) -> list[ChainReport]:
    """Check every chained table (:func:`controller.reports.hashchain.verify`) and its anchors.

    An anchor counts only with its ``retention_pruned`` entry, an age beyond
    ``minimum_days`` and, when ``keys`` (key id to public key) are given, the controller's
    signature (:mod:`controller.reports.anchors`); an anchor failing any is a problem.
    ``copies`` (``table:chain`` to each copy's length, hash and where it was kept) are chain heads
    signed earlier and kept off the box (:mod:`controller.reports.head_copies`).
    """
    floor = minimum_days if minimum_days is not None else MINIMUM_DAYS
    reports = []
    with db.tx() as conn:
        for spec in CHAINS:
            prefix = f"{spec.table}:"
            mine = {k[len(prefix):]: v for k, v in (copies or {}).items() if k.startswith(prefix)}
            report = hashchain.verify(conn, spec, mine)
            checks = check_anchors(conn, spec, keys, floor)
            bad = tuple(hashchain.Problem(spec.table, c.chain[len(spec.table) + 1:], None,
                                          f"anchor not valid: {'; '.join(c.problems)}") for c in checks if not c.ok)
            reports.append(replace(report, problems=report.problems + bad, anchors=tuple(checks)))
    return reports
