"""Background jobs of the controller: APScheduler with a persistent SQLite job store.

Jobs live in ``jobs.db`` beside the controller's database, so a restart neither loses a
job nor runs one twice: every job has an explicit id and is (re)added with
``replace_existing=True``, missed runs are coalesced into one, and a run missed while the
controller was down still happens if it is at most ``misfire_grace_s`` late.  APScheduler
must run in exactly one process: the controller.

- ``plans-periodic``: rebuild and publish every plan that changed (interval);
- ``plans-expiry``: rebuild when the earliest planned item has ended, so old items leave
  the plans promptly (one date job, always re-armed);
- ``render:<broadcast>``: make sure the broadcast's media exists and verifies, re-rendering
  it if not, ``render_lead_minutes`` before each airing (re-armed for the next one);
- ``retention-daily``: prune what the ``[retention]`` settings no longer keep (cron, daily).

Stored jobs name module-level functions; they reach the running controller through
:data:`_runner`, because a job store can only keep picklable references.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from audio.settings import AudioSettings
from controller.config import PlanSettings
from controller.db import Database
from controller.plans.dispatch import Dispatcher
from controller.plan_expansion import rule_of
from controller.plans.records import ScheduledJob
from loaxa.logs import log_context
from loaxa.wire_time import format_time, parse_time, utcnow

log = logging.getLogger(__name__)

PERIODIC_ID = "plans-periodic"
EXPIRY_ID = "plans-expiry"
RETENTION_ID = "retention-daily"
RENDER_PREFIX = "render:"
RETRY_RENDER = timedelta(minutes=5)

_runner: "JobRunner | None" = None


class DailySweep(Protocol):
    """The daily retention run (:class:`controller.operations.retention.Retention`), handed in by the
    service: operations sit above plans, so plans knows only what the job calls."""

    settings: Any

    def run(self) -> Any: ...


class MediaKeeper:
    """Checks that a broadcast's media is in the store and intact; re-renders it from the script if not."""

    def __init__(self, db: Database, media_dir: Path, audio: AudioSettings, local: Any = None):
        """``local`` gives the commune's own dictionary at each render (controller.dictionary)."""
        self.db = db
        self.media_dir = media_dir
        self.audio = audio
        self.local = local or (lambda: None)

    def ensure(self, broadcast_id: str) -> str:
        """``ok`` when the media is intact, ``rendered`` when it had to be made again, ``failed`` otherwise."""
        with self.db.tx() as db:
            row = db.execute(
                """SELECT b.id, b.script, m.sha256, m.ext, b.relay_source_id FROM broadcasts bc
                   JOIN bulletins b ON b.id = bc.bulletin_id
                   LEFT JOIN media m ON m.sha256 = b.media_sha256 WHERE bc.id = ?""", [broadcast_id]).fetchone()
        if row is None or (row[4] and not row[2]):  # a relay has no media of its own
            return "ok"
        bulletin_id, script, sha, ext, _ = row
        path = self.media_dir / f"{sha}.{ext or 'ogg'}"
        if sha and path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == sha:
            return "ok"
        log.warning("media of broadcast %s is missing or damaged; rendering it again", broadcast_id)
        from audio.pipeline import RenderError, render_text

        try:
            media = render_text(script, self.audio, self.media_dir, local=self.local())
        except (RenderError, OSError) as exc:
            log.error("render of bulletin %s failed: %s", bulletin_id, exc)
            return "failed"
        from controller.plans.bulletins import record_media

        with self.db.tx() as db:
            record_media(db, media)
            db.execute("UPDATE bulletins SET media_sha256 = ? WHERE id = ?", [media.sha256, bulletin_id])
        return "rendered"


class JobRunner:
    """Owns the scheduler; the jobs themselves call back into it through :data:`_runner`."""

    def __init__(self, db: Database, dispatcher: Dispatcher, media: MediaKeeper, settings: PlanSettings, jobs_db: Path,
                 retention: DailySweep | None = None):
        self.db = db
        self.retention = retention
        self.dispatcher = dispatcher
        self.media = media
        self.settings = settings
        self.scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{jobs_db}")},
            job_defaults={"coalesce": True, "misfire_grace_time": settings.misfire_grace_s, "max_instances": 1},
            timezone="UTC",
        )

    @property
    def lead(self) -> timedelta:
        return timedelta(minutes=self.settings.render_lead_minutes)

    def start(self) -> None:
        global _runner
        _runner = self
        self.scheduler.start()
        self.scheduler.add_job(rebuild_plans_job, "interval", seconds=self.settings.republish_s, id=PERIODIC_ID,
                               replace_existing=True)
        if self.retention is not None:
            r = self.retention.settings
            self.scheduler.add_job(retention_job, "cron", hour=r.run_hour, minute=r.run_minute, id=RETENTION_ID,
                                   replace_existing=True, coalesce=True)
        self.arm_all_renders()

    def shutdown(self) -> None:
        global _runner
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if _runner is self:
            _runner = None

    def jobs(self) -> list[ScheduledJob]:
        return [ScheduledJob(j.id, format_time(t) if (t := getattr(j, "next_run_time", None)) else None, j.func_ref,
                             tuple(j.args)) for j in self.scheduler.get_jobs()]

    # plans ----------------------------------------------------------------------------
    def rebuild(self, device_ids: list[str] | None = None) -> int:
        """Rebuild plans now (all devices or some) and re-arm the expiry job; returns plans sent."""
        result = self.dispatcher.rebuild(device_ids)
        if device_ids is None or result.next_expiry is not None:
            self.arm_expiry(result.next_expiry)
        return result.sent

    def arm_expiry(self, when: datetime | None) -> None:
        if when is None:
            self._remove(EXPIRY_ID)
            return
        if _armed_by(self.scheduler.get_job(EXPIRY_ID), when):
            return
        self.scheduler.add_job(expire_plans_job, "date", run_date=max(when, utcnow()) + timedelta(seconds=1),
                               id=EXPIRY_ID, replace_existing=True)

    # media ------------------------------------------------------------------------------
    def arm_render(self, broadcast_id: str, after: datetime | None = None) -> datetime | None:
        """Schedule the media check before the broadcast's first airing after ``after`` (default: now).

        Returns when the check runs, or None when the broadcast will not air again.
        """
        now = utcnow()
        after = after or now
        with self.db.tx() as db:
            rows = list(db.query("SELECT * FROM broadcasts WHERE id = ? AND status = 'approved' AND kind = 'scheduled'",
                                 [broadcast_id]))
        airing = None
        if rows:
            rule, offset = rule_of(rows[0])
            shift = timedelta(seconds=offset)
            airing = next((t + shift for t in rule.occurrences(after - shift - timedelta(minutes=1), after + timedelta(days=400))
                           if t + shift > after), None)
        if airing is None:
            self._remove(RENDER_PREFIX + broadcast_id)
            return None
        run_at = max(airing - self.lead, now)
        self.scheduler.add_job(ensure_media_job, "date", run_date=run_at, args=[broadcast_id, format_time(airing)],
                               id=RENDER_PREFIX + broadcast_id, replace_existing=True)
        return run_at

    def arm_all_renders(self) -> None:
        """Arm the media check of every approved broadcast still to air that has none stored.

        Stored jobs are left as they are: one that came due while the controller was down runs
        once (within the misfire grace), and re-adding it would only run it twice.
        """
        with self.db.tx() as db:
            ids = [r[0] for r in db.execute(
                "SELECT id FROM broadcasts WHERE status = 'approved' AND kind = 'scheduled' AND ends_at >= ?",
                [format_time(utcnow())])]
        stored = {j.id for j in self.scheduler.get_jobs()}
        for broadcast_id in ids:
            if RENDER_PREFIX + broadcast_id not in stored:
                self.arm_render(broadcast_id)

    def forget(self, broadcast_id: str) -> None:
        self._remove(RENDER_PREFIX + broadcast_id)

    def ensure_media(self, broadcast_id: str, airing: datetime) -> None:
        with log_context(broadcast_id=broadcast_id):
            self._ensure_media(broadcast_id, airing)

    def _ensure_media(self, broadcast_id: str, airing: datetime) -> None:
        outcome = self.media.ensure(broadcast_id)
        if outcome == "failed":
            self.scheduler.add_job(ensure_media_job, "date", run_date=utcnow() + RETRY_RENDER,
                                   args=[broadcast_id, format_time(airing)], id=RENDER_PREFIX + broadcast_id,
                                   replace_existing=True)
            return
        if outcome == "rendered":
            self.rebuild()
        self.arm_render(broadcast_id, airing)

    def _remove(self, job_id: str) -> None:
        try:
            self.scheduler.remove_job(job_id)
        except JobLookupError:
            pass


def _armed_by(job: Any, when: datetime) -> bool:
    """Whether an armed expiry job already runs at or before ``when`` (so it need not move)."""
    next_run = getattr(job, "next_run_time", None)  # absent while the scheduler has not started
    return next_run is not None and utcnow() < next_run <= when


# --- the stored job functions -------------------------------------------------------------


def rebuild_plans_job() -> None:
    if _runner is not None:
        _runner.rebuild()


def expire_plans_job() -> None:
    if _runner is not None:
        _runner.rebuild()


def retention_job() -> None:
    if _runner is not None and _runner.retention is not None:
        _runner.retention.run()


def ensure_media_job(broadcast_id: str, airing: str) -> None:
    if _runner is not None:
        _runner.ensure_media(broadcast_id, parse_time(airing, "airing"))
