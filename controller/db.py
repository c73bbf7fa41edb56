"""The controller's SQLite database: one file, WAL mode, versioned migrations.

A single connection is shared by the HTTP threads, the MQTT thread and the scheduler
jobs, guarded by one lock: SQLite serialises writers anyway, and one connection keeps
transactions simple and visible to everyone at once.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from datetime import datetime, timedelta
from typing import Iterable, Iterator, Mapping

import sqlite_utils
from loaxa.local_time import LOCAL_TZ
from sqlite_utils.migrations import Migrations

migrations = Migrations("loaxa.controller")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE units (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            parent_id TEXT REFERENCES units(id),
            level TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE devices (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            unit_id TEXT NOT NULL REFERENCES units(id),
            created_at TEXT NOT NULL,
            online INTEGER NOT NULL DEFAULT 0,
            last_seen TEXT,
            plan_version_applied INTEGER NOT NULL DEFAULT 0,
            media_ready INTEGER NOT NULL DEFAULT 0,
            state_json TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE media (
            sha256 TEXT PRIMARY KEY,
            ext TEXT NOT NULL,
            size INTEGER NOT NULL,
            duration_s REAL NOT NULL,
            engine TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        );
        CREATE TABLE bulletins (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            text TEXT NOT NULL,
            script TEXT NOT NULL,
            media_sha256 TEXT REFERENCES media(sha256),
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE broadcasts (
            id TEXT PRIMARY KEY,
            bulletin_id TEXT NOT NULL REFERENCES bulletins(id),
            starts_at TEXT NOT NULL,
            priority TEXT NOT NULL DEFAULT 'normal',
            targets_json TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'scheduled',
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX broadcasts_starts_at ON broadcasts(starts_at);
        CREATE TABLE broadcast_devices (
            broadcast_id TEXT NOT NULL REFERENCES broadcasts(id),
            device_id TEXT NOT NULL REFERENCES devices(id),
            PRIMARY KEY (broadcast_id, device_id)
        );
        CREATE INDEX broadcast_devices_device ON broadcast_devices(device_id);
        CREATE TABLE device_plans (
            device_id TEXT PRIMARY KEY REFERENCES devices(id),
            plan_version INTEGER NOT NULL,
            digest TEXT NOT NULL,
            issued_at TEXT NOT NULL,
            payload BLOB NOT NULL
        );
        CREATE TABLE playback_events (
            id INTEGER PRIMARY KEY,
            device_id TEXT NOT NULL,
            epoch TEXT NOT NULL,
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            item_id TEXT NOT NULL DEFAULT '',
            broadcast_id TEXT NOT NULL DEFAULT '',
            sha256 TEXT NOT NULL DEFAULT '',
            plan_version INTEGER NOT NULL DEFAULT 0,
            planned_at TEXT,
            actual_start TEXT,
            duration_s REAL,
            reason TEXT NOT NULL DEFAULT '',
            flags TEXT NOT NULL DEFAULT '',
            level_dbfs REAL,
            recorded_at TEXT NOT NULL,
            received_at TEXT NOT NULL,
            UNIQUE (device_id, epoch, seq)
        );
        CREATE INDEX playback_events_device_time ON playback_events(device_id, recorded_at);
        CREATE INDEX playback_events_broadcast ON playback_events(broadcast_id);
        CREATE TABLE event_progress (
            device_id TEXT NOT NULL,
            epoch TEXT NOT NULL,
            last_seq INTEGER NOT NULL,
            PRIMARY KEY (device_id, epoch)
        );
        CREATE TABLE counters (
            name TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        );
        """
    )


@migrations()
def m002_scheduling(db: sqlite_utils.Database) -> None:
    """Broadcast rules, approval, per-unit guardrails, emergencies and skipped plays."""
    db.executescript(
        """
        ALTER TABLE broadcasts ADD COLUMN kind TEXT NOT NULL DEFAULT 'scheduled';
        ALTER TABLE broadcasts ADD COLUMN rule_json TEXT NOT NULL DEFAULT '';
        ALTER TABLE broadcasts ADD COLUMN ends_at TEXT;
        ALTER TABLE broadcasts ADD COLUMN order_no INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE broadcasts ADD COLUMN override_json TEXT NOT NULL DEFAULT '';
        ALTER TABLE broadcasts ADD COLUMN decided_by TEXT NOT NULL DEFAULT '';
        ALTER TABLE broadcasts ADD COLUMN decided_at TEXT;
        ALTER TABLE broadcasts ADD COLUMN decision_comment TEXT NOT NULL DEFAULT '';
        ALTER TABLE broadcasts ADD COLUMN updated_at TEXT;
        UPDATE broadcasts SET status = 'approved', ends_at = starts_at WHERE status = 'scheduled';
        CREATE INDEX broadcasts_status_ends ON broadcasts(status, ends_at);
        CREATE TABLE broadcast_history (
            id INTEGER PRIMARY KEY,
            broadcast_id TEXT NOT NULL REFERENCES broadcasts(id),
            action TEXT NOT NULL,
            by TEXT NOT NULL DEFAULT '',
            comment TEXT NOT NULL DEFAULT '',
            at TEXT NOT NULL
        );
        CREATE INDEX broadcast_history_broadcast ON broadcast_history(broadcast_id);
        CREATE TABLE unit_guardrails (
            unit_id TEXT PRIMARY KEY REFERENCES units(id),
            values_json TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            updated_by TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE emergencies (
            id TEXT PRIMARY KEY,
            broadcast_id TEXT NOT NULL REFERENCES broadcasts(id),
            triggered_by TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            topics_json TEXT NOT NULL,
            command_seqs_json TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            sent_at TEXT NOT NULL
        );
        CREATE TABLE plan_skips (
            device_id TEXT NOT NULL,
            item_id TEXT NOT NULL,
            broadcast_id TEXT NOT NULL,
            slot_at TEXT NOT NULL,
            code TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            PRIMARY KEY (device_id, item_id)
        );
        """
    )


@migrations()
def m004_people_audit(db: sqlite_utils.Database) -> None:
    """Users, API tokens, the audit trail, and hash chains over the audit trail and playback events."""
    db.executescript(
        """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            display_name TEXT NOT NULL DEFAULT '',
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL,
            unit_id TEXT,
            disabled INTEGER NOT NULL DEFAULT 0,
            session_epoch INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        );
        CREATE TABLE api_tokens (
            token_sha256 TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            name TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        );
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL DEFAULT '',
            details TEXT NOT NULL DEFAULT '{}',
            ip TEXT NOT NULL DEFAULT '',
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE INDEX audit_log_at ON audit_log(at);
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
        CREATE TABLE chain_heads (
            chain TEXT PRIMARY KEY,
            length INTEGER NOT NULL,
            head TEXT NOT NULL
        );
        ALTER TABLE playback_events ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
        ALTER TABLE playback_events ADD COLUMN hash TEXT NOT NULL DEFAULT '';
        """
    )
    _m004_chain_playback_events(db)


# The playback chain as migration 4 defined it.  A migration keeps its own copy: the live
# chain code (controller/reports/hashchain.py) may change, what this migration did may not.
_M004_PLAYBACK_FIELDS = ("device_id", "epoch", "seq", "kind", "item_id", "broadcast_id", "sha256", "plan_version",
                         "planned_at", "actual_start", "duration_s", "reason", "flags", "level_dbfs", "recorded_at",
                         "received_at")
_M004_REAL_FIELDS = ("duration_s", "level_dbfs")
_M004_GENESIS = "0" * 64


def _m004_chain_playback_events(db: sqlite_utils.Database) -> None:
    """Chain the playback events stored before the table was chained, one chain per device."""
    heads: dict[str, tuple[int, str]] = {}
    names = ["id", *_M004_PLAYBACK_FIELDS]
    rows = db.execute(f"SELECT {', '.join(names)} FROM playback_events WHERE hash = '' ORDER BY id").fetchall()
    for values in rows:
        row = dict(zip(names, values))
        content = {f: row[f] for f in _M004_PLAYBACK_FIELDS}
        for f in _M004_REAL_FIELDS:
            if content[f] is not None:
                content[f] = float(content[f])
        chain = f"playback_events:{row['device_id']}"
        if chain not in heads:
            found = db.execute("SELECT length, head FROM chain_heads WHERE chain = ?", [chain]).fetchone()
            heads[chain] = (found[0], found[1]) if found else (0, _M004_GENESIS)
        length, last = heads[chain]
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        digest = hashlib.sha256(last.encode("ascii") + b"\n" + canonical).hexdigest()
        db.execute("UPDATE playback_events SET prev_hash = ?, hash = ? WHERE id = ?", [last, digest, row["id"]])
        heads[chain] = (length + 1, digest)
    for chain, (length, last) in heads.items():
        db.execute("INSERT INTO chain_heads(chain, length, head) VALUES (?, ?, ?) "
                   "ON CONFLICT(chain) DO UPDATE SET length = excluded.length, head = excluded.head",
                   [chain, length, last])

@migrations()
def m003_device_security(db: sqlite_utils.Database) -> None:
    """Broker accounts, one-time enrollment codes, kill switches and signing-key rollovers."""
    db.executescript(
        """
        CREATE TABLE broker_accounts (
            username TEXT PRIMARY KEY,
            role TEXT NOT NULL CHECK (role IN ('controller', 'device')),
            device_id TEXT UNIQUE REFERENCES devices(id),
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE TABLE enrollment_codes (
            code_sha256 TEXT PRIMARY KEY,
            device_id TEXT NOT NULL REFERENCES devices(id),
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            created_by TEXT NOT NULL DEFAULT '',
            used_at TEXT,
            used_from TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX enrollment_codes_device ON enrollment_codes(device_id);
        CREATE TABLE kill_switches (
            unit_id TEXT PRIMARY KEY REFERENCES units(id),
            engaged_at TEXT NOT NULL,
            engaged_by TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE key_rollovers (
            seq INTEGER PRIMARY KEY,
            retired_kid TEXT NOT NULL,
            next_kid TEXT NOT NULL,
            issued_at TEXT NOT NULL,
            payload BLOB NOT NULL
        );
        """
    )


@migrations()
def m006_bulletin_script(db: sqlite_utils.Database) -> None:
    """What the cleaner left out of each bulletin, shown to the official and the approver."""
    db.execute("ALTER TABLE bulletins ADD COLUMN removed_json TEXT NOT NULL DEFAULT '[]'")


@migrations()
def m007_retention(db: sqlite_utils.Database) -> None:
    """Anchors of pruned chain prefixes; the audit trail's rows may be deleted only once an anchor covers them."""
    db.executescript(
        """
        CREATE TABLE chain_anchors (
            chain TEXT PRIMARY KEY,
            length INTEGER NOT NULL,
            hash TEXT NOT NULL,
            last_id INTEGER NOT NULL,
            pruned_at TEXT NOT NULL
        );
        DROP TRIGGER audit_log_no_delete;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
            WHEN OLD.id > COALESCE((SELECT last_id FROM chain_anchors WHERE chain = 'audit_log:all'), 0)
            BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
        CREATE INDEX plan_skips_slot ON plan_skips(slot_at);
        CREATE INDEX media_created ON media(created_at);
        """
    )



@migrations()
def m008_media_fallback(db: sqlite_utils.Database) -> None:
    """Each Opus file's MP3 fallback (its own sha256-named row in ``media``)."""
    db.execute("ALTER TABLE media ADD COLUMN fallback_sha256 TEXT NOT NULL DEFAULT ''")


@migrations()
def m009_media_scope(db: sqlite_utils.Database) -> None:
    """Media to the broadcasts that use it, so each download's scope check is a few index lookups."""
    db.executescript(
        """
        CREATE INDEX media_fallback ON media(fallback_sha256);
        CREATE INDEX bulletins_media ON bulletins(media_sha256);
        CREATE INDEX broadcasts_bulletin ON broadcasts(bulletin_id);
        """
    )


@migrations()
def m010_fleet(db: sqlite_utils.Database) -> None:
    """Agent releases, staged rollouts and their devices, diagnostics uploads (controller.fleet)."""
    db.executescript(
        """
        CREATE TABLE releases (
            version TEXT PRIMARY KEY,
            notes TEXT NOT NULL DEFAULT '',
            floor TEXT NOT NULL,
            min_from_version TEXT NOT NULL,
            total_bytes INTEGER NOT NULL,
            files INTEGER NOT NULL,
            manifest_sha256 TEXT NOT NULL,
            kid TEXT NOT NULL,
            published_at TEXT NOT NULL,
            published_by TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE rollouts (
            id INTEGER PRIMARY KEY,
            version TEXT NOT NULL REFERENCES releases(version),
            kind TEXT NOT NULL DEFAULT 'update',
            of_rollout INTEGER REFERENCES rollouts(id),
            targets_json TEXT NOT NULL DEFAULT '[]',
            status TEXT NOT NULL,
            canary_share REAL NOT NULL,
            waves INTEGER NOT NULL,
            failure_threshold REAL NOT NULL,
            wave INTEGER NOT NULL DEFAULT 0,
            wave_started_at TEXT,
            created_by TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            finished_at TEXT,
            reason TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX rollouts_status ON rollouts(status);
        CREATE TABLE rollout_devices (
            rollout_id INTEGER NOT NULL REFERENCES rollouts(id),
            device_id TEXT NOT NULL,
            wave INTEGER NOT NULL,
            status TEXT NOT NULL,
            from_version TEXT NOT NULL DEFAULT '',
            sent_at TEXT,
            sends INTEGER NOT NULL DEFAULT 0,
            event_mark INTEGER NOT NULL DEFAULT 0,
            finished_at TEXT,
            reason TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (rollout_id, device_id)
        );
        CREATE TABLE device_diagnostics (
            id INTEGER PRIMARY KEY,
            device_id TEXT NOT NULL,
            received_at TEXT NOT NULL,
            size INTEGER NOT NULL,
            body TEXT NOT NULL
        );
        CREATE INDEX device_diagnostics_device ON device_diagnostics(device_id, id);
        """
    )


@migrations()
def m011_client_binding(db: sqlite_utils.Database) -> None:
    """The operator CLI's own broker account, per-device emergency delivery, flapping devices.

    SQLite cannot change a CHECK constraint in place, so ``broker_accounts`` is rebuilt to
    admit the ``operator`` role.
    """
    db.executescript(
        """
        CREATE TABLE broker_accounts_new (
            username TEXT PRIMARY KEY,
            role TEXT NOT NULL CHECK (role IN ('controller', 'operator', 'device')),
            device_id TEXT UNIQUE REFERENCES devices(id),
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        );
        INSERT INTO broker_accounts_new SELECT username, role, device_id, password_hash, created_at, revoked_at
            FROM broker_accounts;
        DROP TABLE broker_accounts;
        ALTER TABLE broker_accounts_new RENAME TO broker_accounts;
        ALTER TABLE emergencies ADD COLUMN expires_at TEXT NOT NULL DEFAULT '';
        ALTER TABLE emergencies ADD COLUMN item_json TEXT NOT NULL DEFAULT '';
        CREATE TABLE emergency_devices (
            broadcast_id TEXT NOT NULL,
            device_id TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'unreached')),
            sends INTEGER NOT NULL DEFAULT 0,
            last_sent_at TEXT,
            confirmed_at TEXT,
            PRIMARY KEY (broadcast_id, device_id)
        );
        CREATE INDEX emergency_devices_pending ON emergency_devices(status, broadcast_id);
        ALTER TABLE devices ADD COLUMN flapping_since TEXT;
        """
    )



# Row age in the format of format_time, compared as text (ISO 8601 UTC sorts in time order).
_FLOOR = "strftime('%Y-%m-%dT%H:%M:%f', 'now', '-' || (SELECT minimum_days FROM retention_floor) || ' days')"


@migrations()
def m012_signed_anchors(db: sqlite_utils.Database) -> None:
    """Signed retention anchors, and delete triggers that refuse rows younger than the retention floor.

    An anchor now records the newest pruned row's time and the controller's signature;
    ``loaxa audit verify`` accepts it only with that signature, its ``retention_pruned``
    audit entry and an age beyond ``minimum_days``.  The triggers refuse, whatever the
    anchors say, to delete an audit entry or a playback event younger than
    ``retention_floor.minimum_days`` (the controller writes its configured minimum there).
    """
    db.executescript(
        f"""
        ALTER TABLE chain_anchors ADD COLUMN newest_at TEXT NOT NULL DEFAULT '';
        ALTER TABLE chain_anchors ADD COLUMN kid TEXT NOT NULL DEFAULT '';
        ALTER TABLE chain_anchors ADD COLUMN sig TEXT NOT NULL DEFAULT '';
        CREATE TABLE retention_floor (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            minimum_days INTEGER NOT NULL CHECK (minimum_days >= 1)
        );
        INSERT INTO retention_floor(id, minimum_days) VALUES (1, 365);
        DROP TRIGGER audit_log_no_delete;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
            WHEN OLD.id > COALESCE((SELECT last_id FROM chain_anchors WHERE chain = 'audit_log:all'), 0)
              OR OLD.at >= {_FLOOR}
            BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
        CREATE TRIGGER playback_events_no_delete BEFORE DELETE ON playback_events
            WHEN OLD.id > COALESCE((SELECT last_id FROM chain_anchors WHERE chain = 'playback_events:' || OLD.device_id), 0)
              OR OLD.recorded_at >= {_FLOOR} OR OLD.received_at >= {_FLOOR}
            BEGIN SELECT RAISE(ABORT, 'the playback logbook is append-only'); END;
        """
    )


@migrations()
def m014_alerts(db: sqlite_utils.Database) -> None:
    """CAP alert intake (controller.alerts): sources with trust, unit geography, per-unit policies,
    alerts, their per-unit decisions and the repeats planned on devices."""
    db.executescript(
        """
        CREATE TABLE alert_sources (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('feed', 'push', 'upload')),
            name TEXT NOT NULL DEFAULT '',
            url TEXT,
            interval_s INTEGER NOT NULL DEFAULT 60,
            token_sha256 TEXT,
            max_bytes INTEGER NOT NULL,
            senders_json TEXT NOT NULL DEFAULT '[]',
            require_signature INTEGER NOT NULL DEFAULT 0,
            certificates_json TEXT NOT NULL DEFAULT '[]',
            enabled INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE unit_geography (
            unit_id TEXT PRIMARY KEY REFERENCES units(id),
            feature_json TEXT NOT NULL,
            imported_at TEXT NOT NULL,
            imported_by TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE alert_policies (
            unit_id TEXT PRIMARY KEY REFERENCES units(id),
            policy_json TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            updated_by TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE alerts (
            id TEXT PRIMARY KEY,
            source_id TEXT NOT NULL,
            sender TEXT NOT NULL,
            identifier TEXT NOT NULL,
            sent TEXT NOT NULL,
            msg_type TEXT NOT NULL,
            status TEXT NOT NULL,
            scope TEXT NOT NULL,
            event TEXT NOT NULL DEFAULT '',
            headline TEXT NOT NULL DEFAULT '',
            language TEXT NOT NULL DEFAULT '',
            risk_level INTEGER,
            expires TEXT,
            ends_at TEXT NOT NULL,
            state TEXT NOT NULL,
            on_feed INTEGER NOT NULL DEFAULT 1,
            ended_by TEXT NOT NULL DEFAULT '',
            transition TEXT NOT NULL DEFAULT '',
            areas_json TEXT NOT NULL DEFAULT '[]',
            script TEXT NOT NULL DEFAULT '',
            draft INTEGER NOT NULL DEFAULT 0,
            bulletin_id TEXT REFERENCES bulletins(id),
            signed INTEGER NOT NULL DEFAULT 0,
            document BLOB NOT NULL,
            received_at TEXT NOT NULL,
            UNIQUE (sender, identifier)
        );
        CREATE INDEX alerts_state ON alerts(state, ends_at);
        CREATE TABLE alert_decisions (
            id INTEGER PRIMARY KEY,
            alert_id TEXT NOT NULL REFERENCES alerts(id),
            unit_id TEXT NOT NULL,
            action TEXT NOT NULL,
            rule TEXT NOT NULL,
            policy_unit TEXT,
            match_kind TEXT NOT NULL,
            fraction REAL NOT NULL,
            explanation TEXT NOT NULL,
            countdown_min INTEGER,
            quiet_override INTEGER NOT NULL DEFAULT 0,
            repeat_every_min INTEGER NOT NULL,
            all_clear INTEGER NOT NULL DEFAULT 1,
            status TEXT NOT NULL,
            air_at TEXT,
            decided_at TEXT NOT NULL,
            decided_by TEXT NOT NULL DEFAULT '',
            comment TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX alert_decisions_alert ON alert_decisions(alert_id);
        CREATE INDEX alert_decisions_status ON alert_decisions(status);
        CREATE TABLE alert_repeats (
            item_id TEXT PRIMARY KEY,
            decision_id INTEGER NOT NULL REFERENCES alert_decisions(id),
            alert_id TEXT NOT NULL REFERENCES alerts(id),
            n INTEGER NOT NULL,
            kind TEXT NOT NULL DEFAULT 'alert',
            at TEXT NOT NULL,
            late_until TEXT NOT NULL,
            bulletin_id TEXT NOT NULL REFERENCES bulletins(id),
            status TEXT NOT NULL DEFAULT 'planned',
            removed_reason TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX alert_repeats_live ON alert_repeats(status, late_until);
        CREATE INDEX alert_repeats_alert ON alert_repeats(alert_id);
        """
    )


@migrations()
def m015_emergency_late(db: sqlite_utils.Database) -> None:
    """How long an emergency stays in the targeted devices' plans, so one that was offline still plays it."""
    db.execute("ALTER TABLE broadcasts ADD COLUMN late_until TEXT")


@migrations()
def m016_streaming(db: sqlite_utils.Database) -> None:
    """Live audio: relay sources, per-device stream accounts, the restreamer's switch log, relay bulletins."""
    db.executescript(
        """
        CREATE TABLE relay_sources (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            url TEXT NOT NULL,
            kind TEXT NOT NULL,
            unit_id TEXT REFERENCES units(id),
            fallback_source_id TEXT REFERENCES relay_sources(id),
            fallback_media_sha256 TEXT REFERENCES media(sha256),
            last_probe_json TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE stream_accounts (
            device_id TEXT PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            password TEXT NOT NULL,
            issued_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE TABLE relay_switches (
            id INTEGER PRIMARY KEY,
            source_id TEXT NOT NULL,
            mount TEXT NOT NULL,
            from_input TEXT NOT NULL,
            to_input TEXT NOT NULL,
            reason TEXT NOT NULL,
            at TEXT NOT NULL
        );
        CREATE INDEX relay_switches_source ON relay_switches(source_id, id);
        ALTER TABLE bulletins ADD COLUMN relay_source_id TEXT REFERENCES relay_sources(id);
        ALTER TABLE bulletins ADD COLUMN relay_duration_s REAL;
        """
    )


@migrations()
def m018_commune_dictionary(db: sqlite_utils.Database) -> None:
    """The commune's own readings of abbreviations and foreign words (controller.dictionary)."""
    db.executescript(
        """
        CREATE TABLE commune_dictionary (
            key TEXT PRIMARY KEY,
            reading TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'abbreviation',
            updated_at TEXT NOT NULL,
            updated_by TEXT NOT NULL DEFAULT ''
        );
        """
    )


@migrations()
def m023_device_desired(db: sqlite_utils.Database) -> None:
    """What people asked of a device (its volume), kept until the device reports it (controller.devices.desired)."""
    db.executescript(
        """
        CREATE TABLE device_desired (
            device_id TEXT NOT NULL REFERENCES devices(id),
            key TEXT NOT NULL,
            value INTEGER NOT NULL,
            set_by TEXT NOT NULL DEFAULT '',
            set_at TEXT NOT NULL,
            PRIMARY KEY (device_id, key)
        );
        """
    )


@migrations()
def m024_device_history(db: sqlite_utils.Database) -> None:
    """A device's online and offline periods, clock offsets and faults over time (controller.devices.history)."""
    db.executescript(
        """
        CREATE TABLE device_history (
            id INTEGER PRIMARY KEY,
            device_id TEXT NOT NULL REFERENCES devices(id),
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            value REAL
        );
        CREATE INDEX device_history_by_device ON device_history(device_id, at);
        """
    )


@migrations()
def m025_volume_schedules(db: sqlite_utils.Database) -> None:
    """A unit's volume over the day, carried in its devices' signed plans (controller.devices.volume_schedule)."""
    db.executescript(
        """
        CREATE TABLE volume_schedules (
            unit_id TEXT PRIMARY KEY REFERENCES units(id),
            steps_json TEXT NOT NULL,
            set_by TEXT NOT NULL DEFAULT '',
            set_at TEXT NOT NULL
        );
        """
    )


@migrations()
def m035_live_sessions(db: sqlite_utils.Database) -> None:
    """Live speech from the browser: who spoke, where, from when to when, and the recording in the media store."""
    db.executescript(
        """
        CREATE TABLE live_sessions (
            id TEXT PRIMARY KEY,
            started_by TEXT NOT NULL,
            targets_json TEXT NOT NULL,
            devices_json TEXT NOT NULL,
            priority TEXT NOT NULL,
            mount TEXT NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            end_reason TEXT NOT NULL DEFAULT '',
            archive_sha256 TEXT REFERENCES media(sha256),
            seconds REAL,
            override_json TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX live_sessions_started ON live_sessions(started_at);
        """
    )


@migrations()
def m038_device_signatures(db: sqlite_utils.Database) -> None:
    """Device keys (event batches are signed by the pole), what each device was sent, the events
    refused as implausible, and the epochs a device reported (a new one is flagged for review)."""
    db.executescript(
        """
        CREATE TABLE device_keys (
            device_id TEXT NOT NULL REFERENCES devices(id),
            kid TEXT NOT NULL,
            public_key TEXT NOT NULL,
            enrolled_at TEXT NOT NULL,
            retired_at TEXT,
            PRIMARY KEY (device_id, kid)
        );
        CREATE TABLE device_items (
            device_id TEXT NOT NULL,
            item_id TEXT NOT NULL,
            broadcast_id TEXT NOT NULL DEFAULT '',
            sent_at TEXT NOT NULL,
            starts_at TEXT NOT NULL,
            duration_s REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (device_id, item_id)
        ) WITHOUT ROWID;
        CREATE TABLE refused_events (
            device_id TEXT NOT NULL,
            epoch TEXT NOT NULL,
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            item_id TEXT NOT NULL DEFAULT '',
            reason TEXT NOT NULL,
            received_at TEXT NOT NULL,
            event_json TEXT NOT NULL,
            PRIMARY KEY (device_id, epoch, seq)
        );
        CREATE TABLE device_epochs (
            device_id TEXT NOT NULL,
            epoch TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            needs_review INTEGER NOT NULL DEFAULT 0,
            reviewed_by TEXT,
            reviewed_at TEXT,
            PRIMARY KEY (device_id, epoch)
        );
        """
    )


@migrations()
def m032_notifications(db: sqlite_utils.Database) -> None:
    """Notices for the people concerned, each person's unread copy, their deliveries (controller.notifications)."""
    db.executescript(
        """
        CREATE TABLE notifications (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            dedupe_key TEXT NOT NULL UNIQUE,
            title TEXT NOT NULL,
            body TEXT NOT NULL DEFAULT '',
            link TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        );
        CREATE TABLE notification_inbox (
            notification_id INTEGER NOT NULL REFERENCES notifications(id),
            user_id INTEGER NOT NULL REFERENCES users(id),
            read_at TEXT,
            PRIMARY KEY (notification_id, user_id)
        );
        CREATE INDEX notification_inbox_user ON notification_inbox(user_id, read_at);
        CREATE TABLE notification_deliveries (
            id INTEGER PRIMARY KEY,
            notification_id INTEGER NOT NULL REFERENCES notifications(id),
            channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
            address TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_at TEXT NOT NULL,
            last_error TEXT NOT NULL DEFAULT '',
            sent_at TEXT
        );
        CREATE INDEX notification_deliveries_due ON notification_deliveries(status, next_at);
        CREATE TABLE notification_contacts (
            user_id INTEGER PRIMARY KEY REFERENCES users(id),
            email TEXT NOT NULL DEFAULT '',
            updated_at TEXT NOT NULL
        );
        """
    )


@migrations()
def m033_device_coordinates(db: sqlite_utils.Database) -> None:
    """Where a speaker cluster stands (WGS 84), for the map."""
    db.executescript(
        """
        ALTER TABLE devices ADD COLUMN lat REAL;
        ALTER TABLE devices ADD COLUMN lon REAL;
        """
    )


@migrations()
def m041_broker_tree(db: sqlite_utils.Database) -> None:
    """Commune brokers bridged to the province broker, and whether each bridge is up (controller.devices.broker_tree)."""
    db.executescript(
        """
        CREATE TABLE commune_brokers (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL DEFAULT '',
            units_json TEXT NOT NULL,
            device_host TEXT NOT NULL,
            device_port INTEGER NOT NULL,
            province_address TEXT NOT NULL DEFAULT '',
            bridge_username TEXT NOT NULL UNIQUE,
            bridge_password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL DEFAULT '',
            link_up INTEGER,
            link_changed_at TEXT
        );
        """
    )


@migrations()
def m042_emergency_cut_off(db: sqlite_utils.Database) -> None:
    """Which commune broker's bridge was down when an emergency was sent to a device (it could not reach it)."""
    db.executescript("ALTER TABLE emergency_devices ADD COLUMN cut_off_by TEXT;")


@migrations()
def m055_alert_render_retry(db: sqlite_utils.Database) -> None:
    """An alert whose sound could not be made stays in the book and is rendered again until it succeeds or ends:
    how the last attempt went, how many there were, its error and when the next one is due."""
    db.executescript("""
        ALTER TABLE alerts ADD COLUMN render_state TEXT NOT NULL DEFAULT '';
        ALTER TABLE alerts ADD COLUMN render_attempts INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE alerts ADD COLUMN render_error TEXT NOT NULL DEFAULT '';
        ALTER TABLE alerts ADD COLUMN render_retry_at TEXT;
    """)


@migrations()
def m061_report_indexes(db: sqlite_utils.Database) -> None:
    """A logbook query reads one device's plays of a week by ``planned_at``: without this index it
    read every event the device ever sent (3,000 a year each, 60,000 for a commune's report)."""
    db.executescript("CREATE INDEX IF NOT EXISTS playback_events_device_planned ON playback_events(device_id, planned_at);")


@migrations()
def m062_tree_version(db: sqlite_utils.Database) -> None:
    """A counter bumped by every change to the administrative tree (units, devices' id, unit or name),
    so the tree of a province is rebuilt only when it changed, not on every report and plan."""
    db.executescript(
        """
        CREATE TABLE tree_version (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
        INSERT INTO tree_version(id, n) VALUES (1, 0);
        CREATE TRIGGER tree_version_unit_added AFTER INSERT ON units BEGIN UPDATE tree_version SET n = n + 1; END;
        CREATE TRIGGER tree_version_unit_removed AFTER DELETE ON units BEGIN UPDATE tree_version SET n = n + 1; END;
        CREATE TRIGGER tree_version_unit_changed AFTER UPDATE OF id, name, parent_id, level ON units
            BEGIN UPDATE tree_version SET n = n + 1; END;
        CREATE TRIGGER tree_version_device_added AFTER INSERT ON devices BEGIN UPDATE tree_version SET n = n + 1; END;
        CREATE TRIGGER tree_version_device_removed AFTER DELETE ON devices BEGIN UPDATE tree_version SET n = n + 1; END;
        CREATE TRIGGER tree_version_device_changed AFTER UPDATE OF id, unit_id, name ON devices
            BEGIN UPDATE tree_version SET n = n + 1; END;
        """
    )


@migrations()
def m052_received_chain_heads(db: sqlite_utils.Database) -> None:
    """Signed chain heads other controllers sent here to be kept (append-only: no update, no delete)."""
    db.executescript(
        """
        CREATE TABLE received_chain_heads (
            id INTEGER PRIMARY KEY,
            sender TEXT NOT NULL,
            seq INTEGER NOT NULL,
            issued_at TEXT NOT NULL,
            received_at TEXT NOT NULL,
            kid TEXT NOT NULL,
            chains INTEGER NOT NULL,
            conflicts TEXT NOT NULL DEFAULT '',
            payload TEXT NOT NULL,
            UNIQUE (sender, seq)
        );
        CREATE TRIGGER received_chain_heads_no_update BEFORE UPDATE ON received_chain_heads
        BEGIN SELECT RAISE(ABORT, 'received chain heads are append-only'); END;
        CREATE TRIGGER received_chain_heads_no_delete BEFORE DELETE ON received_chain_heads
        BEGIN SELECT RAISE(ABORT, 'received chain heads are append-only'); END;
        """
    )


@migrations()
def m053_device_key_requests(db: sqlite_utils.Database) -> None:
    """A pole enrolled before device keys was asked (signed command) to send its key's public half: once, until then."""
    db.executescript(
        """
        CREATE TABLE device_key_requests (
            device_id TEXT PRIMARY KEY,
            requested_by TEXT NOT NULL,
            requested_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            accepted_kid TEXT,
            accepted_at TEXT
        );
        """
    )


@migrations()
def m063_devices_offline_index(db: sqlite_utils.Database) -> None:
    """The offline clusters of each unit, counted from an index: a province's compliance page counts
    10,000 clusters without reading their rows (:func:`controller.reports.report_scope.offline_counts`)."""
    db.executescript("CREATE INDEX IF NOT EXISTS devices_offline_unit ON devices(online, unit_id, id);")


@migrations()
def m064_playback_rollup(db: sqlite_utils.Database) -> None:
    """Per device and local day: items started and finished (with the sum of their ids' numbers), other
    outcomes, and seconds aired. A province's compliance page would otherwise rebuild 140,000
    plays from their events; ingest, the bulk loader and retention keep it (:func:`rollup_deltas`),
    and this back-fills it from the events already stored, one device at a time. Rows are kept
    in day order (a province's week is one range), with an index by device (a commune's week)."""
    db.executescript(
        """
        CREATE TABLE playback_rollup (
            device_id TEXT NOT NULL,
            day TEXT NOT NULL,
            started INTEGER NOT NULL DEFAULT 0,
            started_sum INTEGER NOT NULL DEFAULT 0,
            finished INTEGER NOT NULL DEFAULT 0,
            finished_sum INTEGER NOT NULL DEFAULT 0,
            other INTEGER NOT NULL DEFAULT 0,
            aired_us INTEGER NOT NULL DEFAULT 0,
            aired_odd INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (day, device_id)
        ) WITHOUT ROWID;
        CREATE INDEX playback_rollup_device ON playback_rollup(device_id, day);
        """
    )
    _backfill_rollup(db.conn)


def _backfill_rollup(conn: sqlite3.Connection) -> None:
    """The rollup of every stored event, device by device (a province's 30 M events in bounded memory)."""
    cols = "device_id, kind, item_id, planned_at, actual_start, recorded_at, duration_s"
    for (device_id,) in conn.execute("SELECT DISTINCT device_id FROM playback_events").fetchall():
        cur = conn.execute(f"SELECT {cols} FROM playback_events WHERE device_id = ?", [device_id])
        names = [c[0] for c in cur.description]
        apply_rollup(conn, rollup_deltas(dict(zip(names, r)) for r in cur), units=False)  # m065 adds the units'


# --- the playback rollup (m064) ---------------------------------------------------------
# Kept beside the events by ingest, the bulk loader and retention, so reports over a province
# can tell which devices' plays all aired without reading their events; the migration's
# back-fill uses the same functions, so the rollup of an upgraded database is the one ingest
# would have written.

ROLLUP_MOD = 1 << 53  # item-id sums are kept modulo this: a week of a device sums far below 2**63
ROLLUP_STARTED = frozenset({"started", "stream_started"})
ROLLUP_FINISHED = frozenset({"finished", "stream_finished"})
ROLLUP_OTHER = frozenset({"interrupted", "failed", "skipped", "stream_gap"})
ROLLUP_AIRED = frozenset({"finished", "interrupted", "stream_finished"})
ROLLUP_LATE = timedelta(hours=6)  # a play recorded this long after its start's day is read by the event query only
ROLLUP_COLUMNS = ("started", "started_sum", "finished", "finished_sum", "other", "aired_us", "aired_odd")
UNIT_ROLLUP_COLUMNS = ("started", "started_hash", "finished", "finished_hash", "other", "aired_us", "aired_odd")
_ROLLUP_UPSERT = (
    f"INSERT INTO playback_rollup(device_id, day, {', '.join(ROLLUP_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(day, device_id) DO UPDATE SET "
    + ", ".join(f"{c} = ({c} + excluded.{c}) % {ROLLUP_MOD}" if c.endswith("_sum") else f"{c} = {c} + excluded.{c}"
                for c in ROLLUP_COLUMNS)
)


UNIT_ROLLUP_MOD = (1 << 50) - 27  # a prime: a unit's pair sums over years of days stay below 2**63
_UNIT_ROLLUP_UPSERT = (
    f"INSERT INTO playback_unit_rollup(unit_id, day, {', '.join(UNIT_ROLLUP_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(day, unit_id) DO UPDATE SET "
    + ", ".join(f"{c} = ({c} + excluded.{c}) % {UNIT_ROLLUP_MOD}" if c.endswith("_hash") else f"{c} = {c} + excluded.{c}"
                for c in UNIT_ROLLUP_COLUMNS)
)


@lru_cache(maxsize=1 << 16)
def rollup_item_hash(item_id: str) -> int:
    """An item id as a number: a device-day keeps the sum of its items' numbers, so a report can check
    that the items that aired are exactly the items planned without reading them (a province's
    devices share their items: the numbers are kept for the next batch)."""
    return int.from_bytes(hashlib.blake2b(item_id.encode(), digest_size=8).digest(), "big") % ROLLUP_MOD


@lru_cache(maxsize=1 << 16)
def unit_item_hash(item_id: str) -> int:
    """An item id as a number modulo the prime :data:`UNIT_ROLLUP_MOD` (the unit rollup multiplies it)."""
    return int.from_bytes(hashlib.blake2b(item_id.encode(), digest_size=8, person=b"item").digest(),
                          "big") % UNIT_ROLLUP_MOD


@lru_cache(maxsize=1 << 15)
def unit_device_hash(device_id: str) -> int:
    """A device id as a number modulo :data:`UNIT_ROLLUP_MOD`, never 0 (a factor of its plays' pair numbers)."""
    return int.from_bytes(hashlib.blake2b(device_id.encode(), digest_size=8, person=b"device").digest(),
                          "big") % (UNIT_ROLLUP_MOD - 1) + 1


def _local_day(iso: str, days: dict[str, tuple[str, datetime, datetime]]) -> tuple[str, datetime, datetime]:
    """The local day of an instant (ISO text) and its bounds, memoised per text (a province's plays share instants)."""
    got = days.get(iso)
    if got is None:
        local = datetime.fromisoformat(iso).astimezone(LOCAL_TZ)
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        got = days[iso] = (local.date().isoformat(), start, start + timedelta(days=1))
    return got


def rollup_deltas(rows: Iterable[Mapping], sign: int = 1) -> dict[tuple[str, str], list[int]]:
    """What stored (``sign`` 1) or pruned (-1) event rows change in the rollup, per (device, local day).

    The counts are by the local day of ``planned_at`` (how the logbook ties an event to its planned
    play, for events with an item); the airtime by the local day of the play's start, in whole
    microseconds, or counted ``aired_odd`` when the event was recorded outside that day and the
    six hours after it (such an event must be read by the event query itself).

    Each list holds the seven columns of ``playback_rollup`` (:data:`ROLLUP_COLUMNS`), then the sums
    of the started and the finished items' :func:`unit_item_hash` (what the unit rollup needs)."""
    out: dict[tuple[str, str], list[int]] = {}
    days: dict[str, tuple[str, datetime, datetime]] = {}
    for r in rows:
        kind, item = r["kind"], r["item_id"] or ""
        if item and r["planned_at"] and (kind in ROLLUP_STARTED or kind in ROLLUP_FINISHED or kind in ROLLUP_OTHER):
            acc = out.setdefault((r["device_id"], _local_day(r["planned_at"], days)[0]), [0] * 9)
            if kind in ROLLUP_OTHER:
                acc[4] += sign
            else:
                at = 0 if kind in ROLLUP_STARTED else 2
                acc[at] += sign
                acc[at + 1] = (acc[at + 1] + sign * rollup_item_hash(item)) % ROLLUP_MOD
                acc[7 + at // 2] = (acc[7 + at // 2] + sign * unit_item_hash(item)) % UNIT_ROLLUP_MOD
        if kind in ROLLUP_AIRED and (r["duration_s"] or 0) > 0:
            start = r["actual_start"] if r["actual_start"] is not None else r["recorded_at"]
            try:
                day, begin, end = _local_day(start, days)
                regular = begin <= datetime.fromisoformat(r["recorded_at"]) < end + ROLLUP_LATE
            except (TypeError, ValueError):
                continue  # the event query cannot read its start either
            acc = out.setdefault((r["device_id"], day), [0] * 9)
            if regular:
                acc[5] += sign * round(float(r["duration_s"]) * 1_000_000)
            else:
                acc[6] += sign
    return out


def apply_rollup(conn: sqlite3.Connection, deltas: dict[tuple[str, str], list[int]], units: bool = True) -> None:
    """Add ``deltas`` to the rollup and (``units``) the unit rollup inside the caller's transaction; rows
    left all zero go."""
    if not deltas:
        return
    conn.executemany(_ROLLUP_UPSERT, [(d, day, *v[:7]) for (d, day), v in deltas.items()])
    if any(v[i] < 0 for v in deltas.values() for i in (0, 2, 4, 5, 6)):
        conn.executemany("DELETE FROM playback_rollup WHERE device_id = ? AND day = ? AND started = 0 AND "
                         "finished = 0 AND other = 0 AND aired_us = 0 AND aired_odd = 0", list(deltas))
    if units:
        apply_unit_rollup(conn, deltas)


def apply_unit_rollup(conn: sqlite3.Connection, deltas: dict[tuple[str, str], list[int]]) -> None:
    """Add device-day ``deltas`` (:func:`rollup_deltas`) to the rows of the devices' units.

    A unit-day sums its devices' counts, outcomes and airtime; an item that started (or finished)
    on a device adds ``unit_device_hash(device) * unit_item_hash(item)`` modulo a prime, so the sum
    tells the set of (device, item) pairs (a polynomial in the devices' and items' numbers), not
    only the items: one device's extra play cannot hide another's miss.  A device without a row
    (not registered) adds nothing; a unit whose devices changed is marked stale by the triggers of
    ``m065`` and read device by device until :func:`refresh_unit_rollup` rebuilds it."""
    devices = sorted({d for d, _ in deltas})
    unit_of: dict[str, str] = {}
    for i in range(0, len(devices), 900):
        chunk = devices[i:i + 900]
        unit_of.update(conn.execute(f"SELECT id, unit_id FROM devices WHERE id IN ({','.join('?' * len(chunk))})",
                                    chunk).fetchall())
    rows: dict[tuple[str, str], list[int]] = {}
    for (d, day), v in deltas.items():
        unit = unit_of.get(d)
        if unit is None:
            continue
        h = unit_device_hash(d)
        acc = rows.setdefault((unit, day), [0] * 7)
        acc[0] += v[0]
        acc[1] = (acc[1] + h * v[7]) % UNIT_ROLLUP_MOD
        acc[2] += v[2]
        acc[3] = (acc[3] + h * v[8]) % UNIT_ROLLUP_MOD
        acc[4] += v[4]
        acc[5] += v[5]
        acc[6] += v[6]
    if not rows:
        return
    conn.executemany(_UNIT_ROLLUP_UPSERT, [(u, day, *v) for (u, day), v in rows.items()])
    if any(v[i] < 0 for v in rows.values() for i in (0, 2, 4, 5, 6)):
        conn.executemany("DELETE FROM playback_unit_rollup WHERE unit_id = ? AND day = ? AND started = 0 AND "
                         "finished = 0 AND other = 0 AND aired_us = 0 AND aired_odd = 0", list(rows))


def refresh_unit_rollup(conn: sqlite3.Connection, units: Iterable[str] | None = None) -> int:
    """Rebuild the unit rollup of ``units`` (every unit when None) for the devices they hold now, and
    clear their stale marks; returns how many devices were read.

    The counts and the airtime are the device rollup's rows summed in SQL (it always describes the
    stored events); only the pair sums need the events, and of those only the started and finished
    plays' item and day, read device by device (a province's 30 M events, a unit at a time)."""
    wanted = None if units is None else sorted(set(units))
    groups = [wanted[i:i + 900] for i in range(0, len(wanted), 900)] if wanted is not None else [None]
    devices: list[tuple[str, str]] = []
    for group in groups:
        where, params = ("", []) if group is None else (f"WHERE unit_id IN ({','.join('?' * len(group))})", group)
        conn.execute(f"DELETE FROM playback_unit_rollup {where}", params)
        conn.execute(f"DELETE FROM playback_unit_rollup_stale {where}", params)
        devices += conn.execute(f"SELECT unit_id, id FROM devices {where} ORDER BY unit_id, id", params).fetchall()
        conn.execute(
            f"""INSERT INTO playback_unit_rollup(unit_id, day, started, finished, other, aired_us, aired_odd)
                SELECT d.unit_id, r.day, SUM(r.started), SUM(r.finished), SUM(r.other), SUM(r.aired_us), SUM(r.aired_odd)
                FROM playback_rollup r JOIN devices d ON d.id = r.device_id {where.replace('unit_id', 'd.unit_id')}
                GROUP BY d.unit_id, r.day""", params)
    kinds = sorted(ROLLUP_STARTED | ROLLUP_FINISHED)
    plays = (f"SELECT kind, item_id, planned_at FROM playback_events INDEXED BY playback_events_device_planned "
             f"WHERE device_id = ? AND kind IN ({','.join('?' * len(kinds))})")
    i = 0
    while i < len(devices):
        unit = devices[i][0]
        days: dict[str, tuple[str, datetime, datetime]] = {}
        sums: dict[str, list[int]] = {}
        while i < len(devices) and devices[i][0] == unit:
            device = devices[i][1]
            i += 1
            mine: dict[str, list[int]] = {}
            for kind, item, planned_at in conn.execute(plays, [device, *kinds]):
                if item and planned_at:
                    acc = mine.setdefault(_local_day(planned_at, days)[0], [0, 0])
                    acc[0 if kind in ROLLUP_STARTED else 1] += unit_item_hash(item)
            h = unit_device_hash(device)
            for day, (started, finished) in mine.items():
                acc = sums.setdefault(day, [0, 0])
                acc[0] = (acc[0] + h * started) % UNIT_ROLLUP_MOD
                acc[1] = (acc[1] + h * finished) % UNIT_ROLLUP_MOD
        conn.executemany("UPDATE playback_unit_rollup SET started_hash = ?, finished_hash = ? WHERE day = ? AND unit_id = ?",
                         [(a, b, day, unit) for day, (a, b) in sums.items()])
    return len(devices)


@migrations()
def m065_playback_unit_rollup(db: sqlite_utils.Database) -> None:
    """Per unit and local day, the sums of ``playback_rollup`` over the unit's devices, with the started and
    finished plays as sums of (device, item) pair numbers (:func:`apply_unit_rollup`): a province's
    compliance page checks 2,000 villages instead of 10,000 clusters.  Kept by the same writers;
    a device that moves, goes or comes back with events marks its units stale (triggers), and those
    are read device by device until rebuilt.  Back-filled from the events already stored."""
    db.executescript(
        """
        CREATE TABLE playback_unit_rollup (
            unit_id TEXT NOT NULL,
            day TEXT NOT NULL,
            started INTEGER NOT NULL DEFAULT 0,
            started_hash INTEGER NOT NULL DEFAULT 0,
            finished INTEGER NOT NULL DEFAULT 0,
            finished_hash INTEGER NOT NULL DEFAULT 0,
            other INTEGER NOT NULL DEFAULT 0,
            aired_us INTEGER NOT NULL DEFAULT 0,
            aired_odd INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (day, unit_id)
        ) WITHOUT ROWID;
        CREATE INDEX playback_unit_rollup_unit ON playback_unit_rollup(unit_id, day);
        CREATE TABLE playback_unit_rollup_stale (unit_id TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE TRIGGER unit_rollup_device_moved AFTER UPDATE OF id, unit_id ON devices
            WHEN OLD.id IS NOT NEW.id OR OLD.unit_id IS NOT NEW.unit_id
            BEGIN
                INSERT OR IGNORE INTO playback_unit_rollup_stale(unit_id) VALUES (OLD.unit_id);
                INSERT OR IGNORE INTO playback_unit_rollup_stale(unit_id) VALUES (NEW.unit_id);
            END;
        CREATE TRIGGER unit_rollup_device_removed AFTER DELETE ON devices
            BEGIN INSERT OR IGNORE INTO playback_unit_rollup_stale(unit_id) VALUES (OLD.unit_id); END;
        CREATE TRIGGER unit_rollup_device_returned AFTER INSERT ON devices
            WHEN EXISTS (SELECT 1 FROM playback_rollup WHERE device_id = NEW.id)
            BEGIN INSERT OR IGNORE INTO playback_unit_rollup_stale(unit_id) VALUES (NEW.unit_id); END;
        """
    )
    refresh_unit_rollup(db.conn)


@migrations()
def m067_relay_source_removal(db: sqlite_utils.Database) -> None:
    """A removed relay source is kept (past relays and the audit trail name it) but no longer offered or restreamed."""
    db.executescript(
        """
        ALTER TABLE relay_sources ADD COLUMN removed_at TEXT;
        ALTER TABLE relay_sources ADD COLUMN removed_by TEXT NOT NULL DEFAULT '';
        """
    )


class Database:

    """The controller database with its lock; use :meth:`tx` for every access."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        self.db = sqlite_utils.Database(conn)
        self.lock = threading.RLock()
        with self.lock:
            migrations.apply(self.db)

    @contextmanager
    def tx(self) -> Iterator[sqlite_utils.Database]:
        """Hold the lock and run the block in one transaction (nested calls join it)."""
        with self.lock:
            conn = self.db.conn
            if conn.in_transaction:
                yield self.db
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def side_connection(self) -> sqlite_utils.Database:
        """A connection of its own on the same file, for long work (retention) that reads without the lock.

        WAL lets it read a snapshot while the shared connection writes; it writes only inside
        :meth:`tx_on`, which takes the lock, so the shared connection never meets a busy file."""
        conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30, isolation_level=None)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return sqlite_utils.Database(conn)

    @contextmanager
    def snapshot_on(self, side: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
        """One read transaction on a side connection: a consistent view, without the lock."""
        side.conn.execute("BEGIN")
        try:
            yield side
        finally:
            side.conn.execute("COMMIT")

    @contextmanager
    def tx_on(self, side: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
        """A write transaction on a side connection, holding the lock as :meth:`tx` does (keep it short)."""
        with self.lock:
            side.conn.execute("BEGIN IMMEDIATE")
            try:
                yield side
            except BaseException:
                side.conn.execute("ROLLBACK")
                raise
            side.conn.execute("COMMIT")

    def next_counter(self, name: str) -> int:
        with self.tx() as db:
            db.execute(
                "INSERT INTO counters(name, value) VALUES (?, 1) "
                "ON CONFLICT(name) DO UPDATE SET value = value + 1",
                [name],
            )
            return db.execute("SELECT value FROM counters WHERE name = ?", [name]).fetchone()[0]

    def close(self) -> None:
        with self.lock:
            self.db.conn.close()
