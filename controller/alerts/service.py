"""Official warnings end to end: sources, intake, per-unit decisions, repeats in device plans, the stop.

Every CAP document, whatever brought it (a polled feed, a provincial system's push, an
official's upload), goes through :meth:`AlertService.receive`: the hardened reader
(:mod:`controller.alerts.intake`), then the lifecycle (:class:`AlertBook`), then, for a new
alert or an update, the areas to units (:mod:`controller.alerts.geo`) and the inherited
per-unit policy (:mod:`controller.alerts.policy`).  Each unit's decision is stored with the
rule that made it, and every automatic one is audited.

A unit that airs gets repeats every ``repeat_every_min`` until the alert ends; each repeat is
a row in ``alert_repeats`` that :mod:`controller.plans.late_items` turns into a signed plan
item with a late window, so a cluster that was offline still hears the warning.  An Update
ends the repeats of what it replaces and plans its own; a Cancel ends them and may air one
all-clear; an alert gone from a feed keeps its repeats until its ``expires``.

The feed pollers run as APScheduler jobs of the controller (``alerts-feed:<source>``); one
``alerts-tick`` job airs queued decisions whose countdown ran out and ends expired alerts.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterable

from controller.alerts import geo
from controller.alerts.cap import Alert, Info, parse_alert
from controller.alerts.feed import FeedEntry, FeedPoller
from controller.alerts.intake import read_document
from controller.alerts.lifecycle import (ACTIVE, CANCEL, CANCELLED, DUPLICATE, EXPIRED, IGNORED, NEW, SUPERSEDED,
                                         UPDATE, AlertBook, Entry, plan_repeats)
from controller.alerts.policy import (AUTO, DRAFT, IGNORE, QUEUE, TEST, AlertPolicy, Decision, decide,
                                      effective_policy, risk_level)
from controller.alerts.script import alert_script, all_clear_script, choose_info
from controller.alerts.settings import AlertSettings
from controller.alerts.sources import FEED, PUSH, UPLOAD, Source, token_digest
from controller.alerts.trust import Trust
from controller.alerts.views import (AlertUnit, AlertView, Airing, FeedHealth, GeographyImported, PolicySet,
                                     RenderState, Repeat, RepeatCounts, SignalAiring, SourceView, UnitDecided)
from controller.db import Database
from controller.errors import InputError, NotFound
from controller.people.access import require_permission
from controller.people.actor import Actor
from controller.plans.bulletins import Bulletins, new_id, record_media
from controller.plan_expansion import load_tree
from controller.reports.audit import AuditTrail
from loaxa.protocol import format_time, parse_time, utcnow
from schedules.guardrails import GuardrailPolicy
from schedules.tree import AdminTree

log = logging.getLogger(__name__)

SYSTEM = "hệ thống"
TICK_ID = "alerts-tick"
FEED_PREFIX = "alerts-feed:"
UPLOAD_SOURCE = "tai-len"  # the built-in manual upload source: any sender, a signed-in official uploads
AIRING, PENDING, DRAFTING, REJECTED, TESTING, IGNORED_D, ENDED, STOPPED = (
    "airing", "pending", "draft", "rejected", "test", "ignored", "ended", "stopped")
STATUS_OF_ACTION = {AUTO: AIRING, QUEUE: PENDING, DRAFT: DRAFTING, TEST: TESTING, IGNORE: IGNORED_D}
STATUS_VI = {AIRING: "đang phát", PENDING: "chờ duyệt", DRAFTING: "bản nháp chờ duyệt", REJECTED: "đã từ chối",
             TESTING: "kênh thử", IGNORED_D: "không phát", ENDED: "đã kết thúc", STOPPED: "đã dừng"}
RENDERED, RENDER_FAILED = "ok", "failed"
SIGNAL = "signal"  # the kind of a repeat row that is a warning's attention signal, aired just before its words
SIGNAL_TITLE = "Tín hiệu báo động"
STATE_VI = {ACTIVE: "đang hiệu lực", SUPERSEDED: "đã được cập nhật", CANCELLED: "đã hủy", EXPIRED: "hết hiệu lực",
            STOPPED: "đã dừng"}

_service: "AlertService | None" = None


@dataclass(frozen=True)
class Received:
    """What one document did: the alert row, the lifecycle step, the units decided."""

    alert_id: str | None
    transition: str
    reason: str
    decisions: tuple[UnitDecided, ...] = ()
    ended: tuple[str, ...] = ()
    render: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"alert_id": self.alert_id, "transition": self.transition, "reason": self.reason,
                "decisions": [d.to_dict() for d in self.decisions], "ended": list(self.ended), "render": self.render}


@dataclass(frozen=True)
class Signal:
    """The attention signal as a stored bulletin: made once, the same before every warning's words."""

    bulletin_id: str
    duration_s: float


class AlertService:
    """One per controller; thread-safe (feed jobs, push requests and the tick share one lock)."""

    def __init__(self, db: Database, bulletins: Bulletins, audit: AuditTrail, settings: AlertSettings,
                 guardrails: Callable[[], GuardrailPolicy], replan: Callable[[list[str] | None], Any],
                 send_stop: Callable[[str], Any] | None = None,
                 send_warm_up: Callable[[list[str]], Any] | None = None):
        self.db = db
        self.bulletins = bulletins
        self.audit = audit
        self.settings = settings
        self.guardrails = guardrails
        self.replan = replan
        self.send_stop = send_stop
        self.send_warm_up = send_warm_up
        self._lock = threading.RLock()
        self._book: AlertBook | None = None
        self._pollers: dict[str, FeedPoller] = {}
        self._url_keys: dict[str, tuple[str, str]] = {}
        self._scheduler: Any = None
        self._signal_lock = threading.Lock()
        self._signal_made: Signal | None = None

    @property
    def _lead(self) -> timedelta:
        return timedelta(seconds=self.settings.first_air_lead_s)

    def _warm_up(self, unit_ids: Iterable[str], tree: AdminTree) -> datetime | None:
        """Switch on the amplifiers of the clusters about to air a warning, before its sound is rendered.

        The amplifier's warm-up then runs while the controller renders, instead of after it;
        returns when the order went out (None when nothing was sent).
        """
        devices = sorted(tree.devices_under([u for u in unit_ids if u in tree]))
        if not devices or self.send_warm_up is None:
            return None
        sent = utcnow()
        try:
            self.send_warm_up(devices)
        except Exception:  # noqa: BLE001 - a lost warm-up costs only the wait below, never the warning
            log.exception("amplifier warm-up not sent")
            return None
        return sent

    def _signal(self) -> Signal:
        """The attention signal's bulletin, made (mastered, stored) the first time and then read from the render cache.

        Raises InputError like a failed render: a warning never airs without its signal.
        """
        from audio.pipeline import RenderError, render_attention

        with self._signal_lock:
            if self._signal_made is not None:
                with self.db.tx() as db:
                    if db.execute("SELECT 1 FROM bulletins b JOIN media m ON m.sha256 = b.media_sha256 WHERE b.id = ?",
                                  [self._signal_made.bulletin_id]).fetchone():
                        return self._signal_made
            b = self.bulletins
            try:
                media = render_attention(b.audio.for_commune(b.commune), b.media_dir)
            except RenderError as exc:
                log.error("attention signal not made: %s", exc)
                raise InputError("render_failed", f"Không tạo được tín hiệu báo động: {exc}", "script") from None
            with self.db.tx() as db:
                record_media(db, media)
                row = db.execute("SELECT id FROM bulletins WHERE media_sha256 = ? AND title = ?",
                                 [media.sha256, SIGNAL_TITLE]).fetchone()
                if row is None:
                    row = (new_id("bt"),)
                    db["bulletins"].insert({"id": row[0], "title": SIGNAL_TITLE, "text": "", "script": "",
                                            "media_sha256": media.sha256, "created_at": format_time(utcnow()),
                                            "created_by": SYSTEM})
            self._signal_made = Signal(row[0], media.duration_s)
            return self._signal_made

    def _make_signal_soon(self) -> None:
        """Make the signal ahead, on its own thread, so the first warning does not wait for it."""
        def make() -> None:
            try:
                self._signal()
            except InputError as exc:
                log.warning("attention signal not made ahead: %s", exc.message)
            except Exception:  # noqa: BLE001 - the controller stopped meanwhile; the first warning makes it then
                log.info("attention signal not made ahead", exc_info=True)
        threading.Thread(target=make, name="alert-signal", daemon=True).start()

    def _first_airing(self, warmed_at: datetime | None) -> datetime:
        """The first airing: ``first_air_lead_s`` from now for the plans and media to arrive, and never before the
        amplifiers have had their warm-up (counted from the warm-up order, or from now when none went out)."""
        warm = timedelta(seconds=self.settings.amplifier_warmup_s + 0.05)
        now = utcnow()
        return max(now + self._lead, (warmed_at or now) + warm)

    # lifecycle ------------------------------------------------------------------------
    def start(self, scheduler: Any) -> None:
        """Arm the tick and one poll job per enabled feed source on the controller's scheduler."""
        global _service
        _service = self
        self._scheduler = scheduler
        scheduler.add_job(alerts_tick_job, "interval", seconds=self.settings.tick_s, id=TICK_ID, replace_existing=True)
        sources = self.sources()
        for source in sources:
            if source.kind == FEED:
                self._arm_feed(source)
        if sources:
            self._make_signal_soon()

    def shutdown(self) -> None:
        global _service
        for poller in list(self._pollers.values()):
            poller._session.close()
        self._pollers.clear()
        if _service is self:
            _service = None

    def _arm_feed(self, source: Source) -> None:
        self._pollers[source.id] = FeedPoller(source, self._on_feed_document, self._on_listing)
        if self._scheduler is not None:
            self._scheduler.add_job(poll_feed_job, "interval", seconds=source.interval_s, args=[source.id],
                                    id=FEED_PREFIX + source.id, replace_existing=True, next_run_time=utcnow())

    def poll(self, source_id: str) -> int:
        poller = self._pollers.get(source_id)
        return poller.poll_once() if poller is not None else 0

    @property
    def book(self) -> AlertBook:
        if self._book is None:
            self._book = self._load_book()
        return self._book

    def _load_book(self) -> AlertBook:
        entries = []
        with self.db.tx() as db:
            rows = db.execute("SELECT document, state, ends_at, on_feed FROM alerts").fetchall()
        for doc, state, ends_at, on_feed in rows:
            try:
                alert = parse_alert(bytes(doc))
            except InputError:
                continue
            state = CANCELLED if state == STOPPED else state  # a stopped alert is over, like a cancelled one
            entries.append(Entry(alert, state, parse_time(ends_at, "ends_at"), bool(on_feed)))
        return AlertBook(entries)

    # sources --------------------------------------------------------------------------
    def add_source(self, data: Any, by: str) -> SourceView:
        """Store a source (feed, push or upload) from validated input; a push source's token is kept hashed."""
        if not isinstance(data, dict):
            raise InputError("source_bad", "Cấu hình nguồn phải là một đối tượng JSON.", "source")
        source = _guarded(Source.from_dict, data, "source_bad", "Cấu hình nguồn không hợp lệ.")
        with self.db.tx() as db:
            if db.execute("SELECT 1 FROM alert_sources WHERE id = ?", [source.id]).fetchone():
                raise InputError("source_exists", f"Nguồn '{source.id}' đã có.", "id")
            db["alert_sources"].insert({
                "id": source.id, "kind": source.kind, "name": source.name, "url": source.url,
                "interval_s": source.interval_s, "token_sha256": source.token_sha256, "max_bytes": source.max_bytes,
                "senders_json": json.dumps(list(source.trust.senders), ensure_ascii=False),
                "require_signature": int(source.trust.require_signature),
                "certificates_json": json.dumps(list(source.trust.certificates)),
                "created_at": format_time(utcnow()), "created_by": by})
            self.audit.record(by, "alert_source_added", source.id, {"kind": source.kind, "url": source.url,
                                                                     "senders": list(source.trust.senders),
                                                                     "require_signature": source.trust.require_signature})
        if source.kind == FEED:
            self._arm_feed(source)
        if self._signal_made is None:
            self._make_signal_soon()
        return SourceView.of(source)

    def edit_source(self, source_id: Any, changes: Any, actor: Actor | str) -> SourceView:
        """Change a source's name, address, interval, size bound or trust; a new ``token`` replaces the old one.

        The whole source is validated again, so an edit can never leave a feed without an
        address or a push source without a token; the audit entry names the fields changed.
        """
        _require_manager(actor)
        if not isinstance(changes, dict):
            raise InputError("source_bad", "Thay đổi nguồn phải là một đối tượng JSON.", "source")
        editable = {"name", "url", "interval_s", "token", "max_bytes", "senders", "require_signature", "certificates"}
        unknown = set(changes) - editable
        if unknown:
            raise InputError("source_bad", f"Không sửa được trường: {', '.join(sorted(unknown))}.", sorted(unknown)[0])
        row = self._source_row(source_id)
        before = _source_of(row)
        merged = {**_source_data(before), **{k: v for k, v in changes.items() if k != "token" or v}}
        if isinstance(merged.get("senders"), str):
            merged["senders"] = [s.strip() for s in merged["senders"].replace(",", "\n").splitlines() if s.strip()]
        if isinstance(merged.get("interval_s"), str) and merged["interval_s"].strip().isdigit():
            merged["interval_s"] = int(merged["interval_s"])
        if changes.get("token"):
            merged.pop("token_sha256", None)
        source = _guarded(Source.from_dict, merged, "source_bad", "Cấu hình nguồn không hợp lệ.")
        if source.kind != before.kind:
            raise InputError("source_bad_kind", "Không đổi được loại nguồn; hãy thêm nguồn mới.", "kind")
        changed = sorted(k for k, v in _source_data(source).items() if _source_data(before).get(k) != v)
        with self.db.tx() as db:
            db.execute("UPDATE alert_sources SET name = ?, url = ?, interval_s = ?, token_sha256 = ?, max_bytes = ?, "
                       "senders_json = ?, require_signature = ?, certificates_json = ? WHERE id = ?",
                       [source.name, source.url, source.interval_s, source.token_sha256, source.max_bytes,
                        json.dumps(list(source.trust.senders), ensure_ascii=False), int(source.trust.require_signature),
                        json.dumps(list(source.trust.certificates)), source.id])
            self.audit.record(actor, "alert_source_edited", source.id,
                              {"changed": ["token" if c == "token_sha256" else c for c in changed], "url": source.url,
                               "senders": list(source.trust.senders),
                               "require_signature": source.trust.require_signature})
        if source.kind == FEED and row["enabled"]:
            self._disarm_feed(source.id)
            self._arm_feed(source)
        return self._view_of(source, bool(row["enabled"]))

    def set_source_enabled(self, source_id: Any, enabled: bool, actor: Actor | str) -> SourceView:
        """Stop taking documents from a source (its feed is no longer polled, its push token is refused), or resume."""
        _require_manager(actor)
        row = self._source_row(source_id)
        source = _source_of(row)
        if bool(row["enabled"]) != enabled:
            with self.db.tx() as db:
                db.execute("UPDATE alert_sources SET enabled = ? WHERE id = ?", [int(enabled), source.id])
                self.audit.record(actor, "alert_source_enabled" if enabled else "alert_source_disabled", source.id,
                                  {"kind": source.kind, "url": source.url})
            if source.kind == FEED:
                self._disarm_feed(source.id)
                if enabled:
                    self._arm_feed(source)
        return self._view_of(source, enabled)

    def _source_row(self, source_id: Any) -> dict[str, Any]:
        with self.db.tx() as db:
            rows = list(db.query("SELECT * FROM alert_sources WHERE id = ?", [source_id if isinstance(source_id, str) else ""]))
        if not rows:
            raise NotFound("unknown_source", f"Không có nguồn cảnh báo '{source_id}'.")
        return rows[0]

    def _disarm_feed(self, source_id: str) -> None:
        poller = self._pollers.pop(source_id, None)
        if poller is not None:
            poller._session.close()
        if self._scheduler is not None:
            try:
                self._scheduler.remove_job(FEED_PREFIX + source_id)
            except Exception:  # noqa: BLE001 - APScheduler's JobLookupError: nothing was armed
                log.debug("no poll job for source %s", source_id)

    def sources(self) -> list[Source]:
        with self.db.tx() as db:
            rows = list(db.query("SELECT * FROM alert_sources WHERE enabled = 1 ORDER BY id"))
        return [_source_of(r) for r in rows]

    def _view_of(self, s: Source, enabled: bool) -> SourceView:
        poller = self._pollers.get(s.id)
        health = None if poller is None else FeedHealth(poller.health.polls, poller.health.failures_in_row,
                                                        poller.health.last_error)
        return SourceView.of(s, enabled, health)

    def all_source_views(self) -> list[SourceView]:
        """Every configured source, enabled or not, for the page where administrators edit them."""
        with self.db.tx() as db:
            rows = list(db.query("SELECT * FROM alert_sources ORDER BY enabled DESC, id"))
        return [self._view_of(_source_of(r), bool(r["enabled"])) for r in rows]

    def source_views(self) -> list[SourceView]:
        """The enabled sources."""
        return [self._view_of(s, True) for s in self.sources()]

    def source(self, source_id: str) -> Source:
        with self.db.tx() as db:
            rows = list(db.query("SELECT * FROM alert_sources WHERE id = ? AND enabled = 1", [source_id]))
        if not rows:
            if source_id == UPLOAD_SOURCE:
                return Source(id=UPLOAD_SOURCE, kind=UPLOAD, name="Tải lên thủ công")
            raise NotFound("unknown_source", f"Không có nguồn cảnh báo '{source_id}'.")
        return _source_of(rows[0])

    # geography and policies -------------------------------------------------------------
    def import_geography(self, text: Any, by: str) -> GeographyImported:
        """Units' boundaries (or centroid + radius) and geocodes from a GeoJSON FeatureCollection."""
        if not isinstance(text, (str, bytes)):
            raise InputError("geo_bad_json", "Cần nội dung tệp GeoJSON.", "geojson")
        tree = load_tree(self.db)
        geos = _guarded(lambda t: geo.load_geojson(t, tree), text, "geo_bad", "Tệp GeoJSON không hợp lệ.")
        features = json.loads(text)["features"]
        now = format_time(utcnow())
        with self.db.tx() as db:
            for feature in features:
                unit_id = feature["properties"]["unit_id"]
                db.execute("INSERT OR REPLACE INTO unit_geography(unit_id, feature_json, imported_at, imported_by) "
                           "VALUES (?, ?, ?, ?)", [unit_id, json.dumps(feature, ensure_ascii=False), now, by])
            self.audit.record(by, "unit_geography_imported", "", {"units": sorted(geos)})
        return GeographyImported(tuple(sorted(geos)))

    def geographies(self) -> dict[str, geo.UnitGeo]:
        with self.db.tx() as db:
            features = [json.loads(r[0]) for r in db.execute("SELECT feature_json FROM unit_geography")]
        if not features:
            return {}
        return geo.load_geojson(json.dumps({"type": "FeatureCollection", "features": features}))

    def set_policy(self, unit_id: Any, data: Any, by: str) -> PolicySet:
        tree = load_tree(self.db)
        if not isinstance(unit_id, str) or unit_id not in tree or tree.is_device(unit_id):
            raise InputError("unknown_unit", f"Không có đơn vị '{unit_id}'.", "unit_id")
        policy = _guarded(AlertPolicy.from_dict, data, "policy_bad", "Chính sách cảnh báo không hợp lệ.")
        with self.db.tx() as db:
            db.execute("INSERT OR REPLACE INTO alert_policies(unit_id, policy_json, updated_at, updated_by) "
                       "VALUES (?, ?, ?, ?)", [unit_id, json.dumps(data, ensure_ascii=False), format_time(utcnow()), by])
            self.audit.record(by, "alert_policy_set", unit_id, dict(data))
        return PolicySet(unit_id, dict(data), policy.repeat_every_min)

    def policies(self) -> dict[str, AlertPolicy]:
        with self.db.tx() as db:
            rows = db.execute("SELECT unit_id, policy_json FROM alert_policies").fetchall()
        return {u: AlertPolicy.from_dict(json.loads(p)) for u, p in rows}

    # intake -----------------------------------------------------------------------------
    def push(self, token: str | None, data: bytes) -> Received:
        """A provincial system's POST: its source is the push source whose token it holds, then the common door."""
        source = next((s for s in self.sources() if s.kind == PUSH and s.accepts_token(token)), None)
        if source is None:
            log.warning("alert push refused: bad or missing source token")
            raise PushRefused("push_unauthorized", "Mã xác thực của nguồn đẩy tin không đúng hoặc đã bị thu hồi.", "token")
        return self.receive(data, source)

    def upload(self, data: Any, by: str, source_id: str = UPLOAD_SOURCE) -> Received:
        """An official's manual upload (the upload source, or any configured source's trust)."""
        if isinstance(data, str):
            data = data.encode()
        source = self.source(source_id)
        received = self.receive(data, source, by=by)
        self.audit.record(by, "alert_uploaded", received.alert_id or "", {"transition": received.transition})
        return received

    def _on_feed_document(self, source: Source, entry: FeedEntry, data: bytes) -> None:
        received = self.receive(data, source)
        with self.db.tx() as db:
            row = db.execute("SELECT sender, identifier FROM alerts WHERE id = ?", [received.alert_id]).fetchone()
        if row:
            self._url_keys[entry.cap_url] = (row[0], row[1])

    def _on_listing(self, source: Source, entries: list[FeedEntry]) -> None:
        """A feed that drops alerts instead of cancelling them: mark them gone; they end at their expires."""
        with self._lock:
            listing = [self._url_keys[e.cap_url] for e in entries if e.cap_url in self._url_keys]
            with self.db.tx() as db:
                keys = [(r[0], r[1]) for r in db.execute(
                    "SELECT sender, identifier FROM alerts WHERE source_id = ? AND state = ?", [source.id, ACTIVE])]
                gone = self.book.listed(keys, listing)
                for sender, identifier in gone:
                    db.execute("UPDATE alerts SET on_feed = 0 WHERE sender = ? AND identifier = ?", [sender, identifier])
        for key in gone:
            log.info("alert %s of %s left feed %s; it keeps airing until it expires", key[1], key[0], source.id)

    def receive(self, data: bytes, source: Source, *, by: str = "") -> Received:
        """Read, trust, follow the lifecycle and decide; raises InputError (4xx) for a refused document."""
        alert = read_document(data, source)
        with self._lock:
            now = utcnow()
            transition = self.book.receive(alert, now, timedelta(hours=self.settings.max_lifetime_h))
            if transition.kind == DUPLICATE:
                with self.db.tx() as db:
                    db.execute("UPDATE alerts SET on_feed = 1 WHERE sender = ? AND identifier = ?", list(alert.key))
                received, devices = Received(self._alert_id(alert.key), DUPLICATE, transition.reason), set()
            else:
                received, devices = self._take(alert, transition, source, data, now)
        if received.transition == DUPLICATE:  # a warning whose sound failed is tried again on each new copy
            if received.alert_id is None:
                return received
            return dataclasses.replace(received, render=self._retry_render(received.alert_id, "nhận lại bản tin"))
        log.info("alert %s (%s %s): %s, %d unit decisions", received.alert_id, alert.msg_type, alert.identifier,
                 received.transition, len(received.decisions))
        if devices:
            self.replan(sorted(devices))
        return dataclasses.replace(received, render=self._render_state(received.alert_id or ""))

    def _take(self, alert: Alert, transition: Any, source: Source, data: bytes, now: datetime) -> tuple[Received, set[str]]:
        """Store a document that changes the book, end what it replaces or cancels, decide its units."""
        entry = self.book.get(alert.key)
        if transition.kind == IGNORED and (entry is None or entry.alert is not alert):
            return Received(self._alert_id(alert.key), IGNORED, transition.reason), set()
        assert entry is not None
        alert_id = self._store_alert(alert, entry, source, data, transition.kind)
        ended_ids = [i for i in (self._alert_id(k) for k in transition.ended) if i]
        devices: set[str] = set()
        for old_id in ended_ids:
            state = CANCELLED if transition.kind == CANCEL else SUPERSEDED
            devices |= self._end_alert(old_id, state, f"{transition.reason} ({alert.identifier})", now,
                                       all_clear=transition.kind == CANCEL)
        decisions: tuple[UnitDecided, ...] = ()
        if transition.kind in (NEW, UPDATE):
            decisions, new_devices = self._decide(alert_id, alert, entry, now)
            devices |= new_devices
        return Received(alert_id, transition.kind, transition.reason, decisions, tuple(ended_ids)), devices

    def _alert_id(self, key: tuple[str, str]) -> str | None:
        with self.db.tx() as db:
            row = db.execute("SELECT id FROM alerts WHERE sender = ? AND identifier = ?", list(key)).fetchone()
        return row[0] if row else None

    def _store_alert(self, alert: Alert, entry: Entry, source: Source, data: bytes, transition: str) -> str:
        info = choose_info(alert)
        areas = [a.desc for i in alert.infos for a in i.areas]
        row = {
            "source_id": source.id, "sender": alert.sender, "identifier": alert.identifier,
            "sent": format_time(alert.sent), "msg_type": alert.msg_type, "status": alert.status, "scope": alert.scope,
            "event": info.event if info else "", "headline": (info.headline or "") if info else "",
            "language": info.language if info else "", "risk_level": risk_level(info) if info else None,
            "expires": format_time(alert.expires) if alert.expires else None, "ends_at": format_time(entry.ends_at),
            "state": entry.state, "on_feed": 1, "transition": transition,
            "areas_json": json.dumps(list(dict.fromkeys(areas)), ensure_ascii=False), "signed": int(alert.signed),
            "document": bytes(data), "received_at": format_time(utcnow()),
        }
        with self.db.tx() as db:
            existing = db.execute("SELECT id FROM alerts WHERE sender = ? AND identifier = ?", list(alert.key)).fetchone()
            if existing:
                db["alerts"].update(existing[0], row)
                return existing[0]
            row["id"] = new_id("al")
            db["alerts"].insert(row)
            return row["id"]

    # deciding -------------------------------------------------------------------------
    def _decide(self, alert_id: str, alert: Alert, entry: Entry, now: datetime) -> tuple[tuple[UnitDecided, ...], set[str]]:
        info = choose_info(alert)
        if info is None:
            return (), set()
        tree = load_tree(self.db)
        matches = geo.match_area(info.areas, self.geographies(), tree, self.settings.min_cover)
        policies = self.policies()
        script = alert_script(alert, info, [tree.name(m.unit_id) for m in matches])
        made: list[tuple[geo.Match, Decision]] = [(m, decide(alert, info, m.unit_id, policies, tree)) for m in matches]
        bulletin_id = None
        render_state, render_error = "", ""
        rendering = any(d.action in (AUTO, QUEUE) for _, d in made)
        signal: Signal | None = None
        signal_error = ""
        if rendering:
            warmed_at = self._warm_up([m.unit_id for m, d in made if d.action == AUTO], tree)
            if any(d.action == AUTO for _, d in made):
                try:
                    signal = self._signal()  # made ahead (see _make_signal_soon), else now
                except InputError as exc:
                    signal_error = exc.message
            now = self._first_airing(warmed_at)  # every online cluster has the plan, and its amplifier is warm
        views: list[UnitDecided] = []
        stored = []
        for match, decision in made:
            status = STATUS_OF_ACTION[decision.action]
            air_at = (now + timedelta(minutes=decision.countdown_min)) if status == PENDING and decision.countdown_min else None
            with self.db.tx() as db:
                decision_id = db.execute(
                    """INSERT INTO alert_decisions(alert_id, unit_id, action, rule, policy_unit, match_kind, fraction,
                       explanation, countdown_min, quiet_override, repeat_every_min, all_clear, status, air_at, decided_at,
                       decided_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
                    [alert_id, match.unit_id, decision.action, decision.rule, decision.policy_unit, match.kind,
                     match.fraction, match.explanation, decision.countdown_min, int(decision.quiet_override),
                     decision.repeat_every_min, int(decision.all_clear_on_cancel), status,
                     format_time(air_at) if air_at else None, format_time(now), SYSTEM]).lastrowid
                self.audit.record(SYSTEM, "alert_decision", alert_id, {
                    "unit": match.unit_id, "action": decision.action, "rule": decision.rule,
                    "policy_unit": decision.policy_unit, "match": match.explanation, "identifier": alert.identifier,
                    "countdown_min": decision.countdown_min})
            stored.append((decision_id, match, decision, status))
            views.append(UnitDecided(match.unit_id, decision.action, status, decision.rule, match.explanation,
                                     decision.countdown_min))
        airing = [(i, m, d) for i, m, d, status in stored if status == AIRING]
        if rendering:
            try:
                if signal_error:
                    raise InputError("render_failed", signal_error, "script")
                if airing and signal is not None:
                    # The signal is the same every time and already made: it goes out now, and the words follow it
                    # back to back once they are spoken, instead of the whole warning waiting for its render.
                    signalled = set()
                    for decision_id, match, decision in airing:
                        signalled |= self._plan_first_signal(decision_id, alert_id, match.unit_id, signal, now,
                                                             entry.ends_at, decision.repeat_every_min,
                                                             decision.quiet_override, tree)
                    if signalled:
                        self.replan(sorted(signalled))
                bulletin_id = self._render(script.title, script.text, SYSTEM)
                render_state = RENDERED
            except InputError as exc:  # kept, with its decisions; the tick renders it again (see _retry_render)
                render_state, render_error = RENDER_FAILED, exc.message
                withdrawn = self._withdraw_signals(alert_id, tree)
                if withdrawn:
                    self.replan(sorted(withdrawn))
        with self.db.tx() as db:
            db.execute("UPDATE alerts SET script = ?, draft = ?, bulletin_id = ?, render_state = ?, render_attempts = ?, "
                       "render_error = ?, render_retry_at = ? WHERE id = ?",
                       [script.text, int(script.draft), bulletin_id, render_state, int(bool(render_state)), render_error,
                        format_time(utcnow() + self._retry_wait(1)) if render_state == RENDER_FAILED else None, alert_id])
            if render_state == RENDER_FAILED:
                log.warning("alert %s: render attempt 1 failed, next in %.0f s: %s", alert_id,
                            self._retry_wait(1).total_seconds(), render_error)
                self.audit.record(SYSTEM, "alert_render_failed", alert_id, {"attempt": 1, "error": render_error})
        devices: set[str] = set()
        if bulletin_id and signal is not None:
            for decision_id, match, decision in airing:
                devices |= self._plan_repeats(decision_id, alert_id, match.unit_id, bulletin_id, now, entry.ends_at,
                                              decision.repeat_every_min, decision.quiet_override, tree, signal,
                                              first_signalled=True)
        return tuple(views), devices

    def _repeat_times(self, unit_id: str, start: datetime, ends_at: datetime, every_min: int, quiet_override: bool,
                      tree: AdminTree, duration_s: float) -> list[datetime]:
        """Airings from ``start`` every ``every_min`` until the end; quiet hours drop one unless the level overrides."""
        times = list(plan_repeats(start, timedelta(minutes=every_min), ends_at))
        if not quiet_override:
            rails = self.guardrails().for_unit(tree, unit_id)
            times = [t for t in times if not rails.in_quiet_hours(t, t + timedelta(seconds=duration_s))]
        return times

    def _plan_first_signal(self, decision_id: int, alert_id: str, unit_id: str, signal: Signal, start: datetime,
                           ends_at: datetime, every_min: int, quiet_override: bool, tree: AdminTree) -> set[str]:
        """The first airing's attention signal, planned before the words exist; returns the devices to tell."""
        times = self._repeat_times(unit_id, start, ends_at, every_min, quiet_override, tree, signal.duration_s)
        if not times or times[0] != start:
            return set()
        until = min(times[1] if len(times) > 1 else ends_at, ends_at)
        with self.db.tx() as db:
            db["alert_repeats"].insert({
                "item_id": f"{alert_id}.{decision_id}.1.{SIGNAL}", "decision_id": decision_id, "alert_id": alert_id,
                "n": 1, "kind": SIGNAL, "at": format_time(start), "late_until": format_time(until),
                "bulletin_id": signal.bulletin_id, "status": "planned"})
        return set(tree.devices_under([unit_id])) if unit_id in tree else set()

    def _withdraw_signals(self, alert_id: str, tree: AdminTree) -> set[str]:
        """Signals planned ahead of words that could not be made leave the plans (a signal never airs alone)."""
        with self.db.tx() as db:
            units = [r[0] for r in db.execute(
                "SELECT DISTINCT d.unit_id FROM alert_repeats r JOIN alert_decisions d ON d.id = r.decision_id "
                "WHERE r.alert_id = ? AND r.kind = ? AND r.status = 'planned'", [alert_id, SIGNAL])]
            db.execute("UPDATE alert_repeats SET status = 'removed', removed_reason = ? WHERE alert_id = ? AND kind = ? "
                       "AND status = 'planned'", ["chưa tạo được âm thanh", alert_id, SIGNAL])
        return set(tree.devices_under([u for u in units if u in tree]))

    def _plan_repeats(self, decision_id: int, alert_id: str, unit_id: str, bulletin_id: str, start: datetime,
                      ends_at: datetime, every_min: int, quiet_override: bool, tree: AdminTree, signal: Signal,
                      first_signalled: bool = False, tag: str = SIGNAL) -> set[str]:
        """Each repeat is the attention signal at its instant, then the words right after it, back to back.

        ``first_signalled``: the first signal went out before the words were made; its words
        follow it without a gap if they reach the clusters in time (``first_air_lead_s`` from
        now), else as soon as they can, and the gap is logged.  ``tag`` ends the signals' item
        ids: a new attempt after a withdrawn signal needs new ones (an agent plays an id once).
        """
        with self.db.tx() as db:
            duration = db.execute("SELECT m.duration_s FROM bulletins b JOIN media m ON m.sha256 = b.media_sha256 "
                                  "WHERE b.id = ?", [bulletin_id]).fetchone()[0]
        length = timedelta(seconds=signal.duration_s)
        times = self._repeat_times(unit_id, start, ends_at, every_min, quiet_override, tree,
                                   signal.duration_s + duration)
        if first_signalled and start not in times:
            times = sorted([start, *times])  # its signal is in the plans already: its words must follow
        rows = []
        for n, at in enumerate(times, 1):
            until = min(times[n] if n < len(times) else ends_at, ends_at)
            words = at + length
            if n == 1 and first_signalled:
                soonest = utcnow() + self._lead
                if words < soonest:
                    log.warning("alert %s: the words follow the signal %.1f s late (the render outlasted the signal)",
                                alert_id, (soonest - words).total_seconds())
                    words = soonest
            else:
                rows.append({"item_id": f"{alert_id}.{decision_id}.{n}.{tag}", "decision_id": decision_id,
                             "alert_id": alert_id, "n": n, "kind": SIGNAL, "at": format_time(at),
                             "late_until": format_time(until), "bulletin_id": signal.bulletin_id, "status": "planned"})
            rows.append({"item_id": f"{alert_id}.{decision_id}.{n}", "decision_id": decision_id, "alert_id": alert_id,
                         "n": n, "kind": "alert", "at": format_time(words), "late_until": format_time(max(until, words)),
                         "bulletin_id": bulletin_id, "status": "planned"})
        with self.db.tx() as db:
            db["alert_repeats"].insert_all(rows)
        log.info("alert %s: %d repeats planned for %s", alert_id, len(times), unit_id)
        return set(tree.devices_under([unit_id])) if unit_id in tree else set()

    def _end_alert(self, alert_id: str, state: str, reason: str, now: datetime, *, all_clear: bool = False,
                   by: str = SYSTEM) -> set[str]:
        """End an alert: its live repeats leave the plans; on a cancel, units that aired may hear an all-clear."""
        tree = load_tree(self.db)
        stamp = format_time(now)
        with self.db.tx() as db:
            db.execute("UPDATE alerts SET state = ? WHERE id = ?", [state, alert_id])
            decisions = list(db.query("SELECT * FROM alert_decisions WHERE alert_id = ? AND status IN (?, ?, ?)",
                                      [alert_id, AIRING, PENDING, DRAFTING]))
            db.execute("UPDATE alert_repeats SET status = CASE WHEN late_until > ? THEN 'removed' ELSE 'done' END, "
                       "removed_reason = CASE WHEN late_until > ? THEN ? ELSE '' END "
                       "WHERE alert_id = ? AND status = 'planned'", [stamp, stamp, reason, alert_id])
            db.execute("UPDATE alert_decisions SET status = ?, comment = ? WHERE alert_id = ? AND status IN (?, ?, ?)",
                       [STOPPED if state == STOPPED else ENDED, reason, alert_id, AIRING, PENDING, DRAFTING])
            doc = db.execute("SELECT document FROM alerts WHERE id = ?", [alert_id]).fetchone()[0]
        devices = set(tree.devices_under([d["unit_id"] for d in decisions if d["unit_id"] in tree]))
        airing = [d for d in decisions if d["status"] == AIRING and d["all_clear"]]
        if all_clear and airing:
            alert = parse_alert(bytes(doc))
            info = choose_info(alert)
            if info is not None:
                script = all_clear_script(alert, info, [tree.name(d["unit_id"]) for d in airing if d["unit_id"] in tree])
                bulletin_id = self._render(script.title, script.text, SYSTEM, bare=False)
                until = format_time(now + timedelta(minutes=self.settings.all_clear_late_minutes))
                with self.db.tx() as db:
                    db["alert_repeats"].insert_all({
                        "item_id": f"{alert_id}.{d['id']}.ac", "decision_id": d["id"], "alert_id": alert_id, "n": 0,
                        "kind": "all_clear", "at": stamp, "late_until": until, "bulletin_id": bulletin_id,
                        "status": "planned"} for d in airing)
        log.info("alert %s ended (%s): %s", alert_id, state, reason)
        return devices

    def _retry_wait(self, attempt: int) -> timedelta:
        """Backoff after the ``attempt``-th failed render: doubling from ``render_retry_s``, capped."""
        wait = self.settings.render_retry_s * 2 ** min(max(attempt - 1, 0), 20)
        return timedelta(seconds=min(wait, self.settings.render_retry_max_s))

    def _render_state(self, alert_id: str) -> str:
        with self.db.tx() as db:
            row = db.execute("SELECT render_state FROM alerts WHERE id = ?", [alert_id]).fetchone()
        return row[0] if row else ""

    def retry_renders(self, now: datetime | None = None) -> None:
        """Render again every live alert whose sound failed and whose backoff is over (the tick calls this)."""
        now = now or utcnow()
        with self.db.tx() as db:
            due = [r[0] for r in db.execute(
                "SELECT id FROM alerts WHERE state = ? AND render_state = ? AND render_retry_at <= ? ORDER BY received_at",
                [ACTIVE, RENDER_FAILED, format_time(now)])]
        for alert_id in due:
            self._retry_render(alert_id, "thử lại theo lịch")

    def _retry_render(self, alert_id: str, why: str) -> str:
        """One more attempt at a live alert's sound; on success its airing decisions get their repeats from now.

        A warning that could not be rendered when it arrived must not be lost as a duplicate:
        it stays in the book with ``render_state = failed`` and is tried again on every new copy
        of the document and by the tick, with a doubling wait, until it renders or ends.
        """
        with self._lock:
            alert = self._alert_row(alert_id)
            if alert["state"] != ACTIVE or alert["render_state"] != RENDER_FAILED:
                return alert["render_state"]
            attempt = alert["render_attempts"] + 1
            tree = load_tree(self.db)
            with self.db.tx() as db:
                units = [r[0] for r in db.execute("SELECT unit_id FROM alert_decisions WHERE alert_id = ? AND status = ?",
                                                  [alert_id, AIRING])]
            # Amplifiers on while this attempt renders: if it succeeds, the warning need not wait for them.
            warmed_at = self._warm_up(units, tree)
            try:
                signal = self._signal()
                bulletin_id = self._render(f"Cảnh báo {alert['event']}", alert["script"], SYSTEM)
            except InputError as exc:
                wait = self._retry_wait(attempt)
                with self.db.tx() as db:
                    db.execute("UPDATE alerts SET render_attempts = ?, render_error = ?, render_retry_at = ? WHERE id = ?",
                               [attempt, exc.message, format_time(utcnow() + wait), alert_id])
                log.warning("alert %s: render attempt %d (%s) failed, next in %.0f s: %s", alert_id, attempt, why,
                            wait.total_seconds(), exc.message)
                return RENDER_FAILED
            start = self._first_airing(warmed_at)
            ends_at = parse_time(alert["ends_at"], "ends_at")
            with self.db.tx() as db:
                db.execute("UPDATE alerts SET bulletin_id = ?, render_state = ?, render_attempts = ?, render_error = '', "
                           "render_retry_at = NULL WHERE id = ?", [bulletin_id, RENDERED, attempt, alert_id])
                self.audit.record(SYSTEM, "alert_rendered", alert_id, {"attempt": attempt, "why": why})
                airing = list(db.query("SELECT * FROM alert_decisions WHERE alert_id = ? AND status = ? AND id NOT IN "
                                       "(SELECT decision_id FROM alert_repeats WHERE alert_id = ? AND kind = 'alert')",
                                       [alert_id, AIRING, alert_id]))
            devices: set[str] = set()
            for d in airing:
                devices |= self._plan_repeats(d["id"], alert_id, d["unit_id"], bulletin_id, start, ends_at,
                                              d["repeat_every_min"], bool(d["quiet_override"]), tree, signal,
                                              tag=f"{SIGNAL}-{attempt}")
            log.info("alert %s: rendered at attempt %d (%s); %d units airing from %s", alert_id, attempt, why,
                     len(airing), format_time(start))
        if devices:
            self.replan(sorted(devices))
        return RENDERED

    def _render(self, title: str, text: str, by: str, bare: bool = True) -> str:
        """Render the script and store it as a bulletin; returns its id.

        A warning's words are rendered bare (no chime): its attention signal airs as its own
        item just before them (:meth:`_signal`).  The all-clear has the bulletin chimes."""
        from audio.pipeline import RenderError, render_text

        b = self.bulletins
        try:
            media = render_text(text, b.audio.for_commune(b.commune), b.media_dir,
                                dictionary=b.script_settings.dictionary(), bare=bare)
        except RenderError as exc:
            log.error("alert render failed: %s", exc)
            raise InputError("render_failed", f"Không tạo được âm thanh cảnh báo: {exc}", "script") from None
        bulletin = {"id": new_id("bt"), "title": title[:200], "text": text, "script": text, "media_sha256": media.sha256,
                    "created_at": format_time(utcnow()), "created_by": by}
        with self.db.tx() as db:
            record_media(db, media)
            db["bulletins"].insert(bulletin)
        return bulletin["id"]

    # officials' actions ---------------------------------------------------------------
    def approve(self, alert_id: str, by: str, units: Iterable[str] | None = None, script: Any = None,
                comment: str = "", automatic: bool = False) -> AlertView:
        """Air the waiting decisions of an alert (some units, or all); a draft airs the script the official approved."""
        now = utcnow()
        with self._lock:
            alert = self._alert_row(alert_id)
            if alert["state"] != ACTIVE:
                raise InputError("alert_not_active", "Cảnh báo này không còn hiệu lực.", "alert_id")
            wanted = set(units) if units is not None else None
            with self.db.tx() as db:
                waiting = [d for d in db.query("SELECT * FROM alert_decisions WHERE alert_id = ? AND status IN (?, ?)",
                                               [alert_id, PENDING, DRAFTING]) if wanted is None or d["unit_id"] in wanted]
            if not waiting:
                raise InputError("nothing_waiting", "Cảnh báo không có đơn vị nào chờ duyệt.", "alert_id")
            bulletin_id = alert["bulletin_id"]
            text = script.strip() if isinstance(script, str) and script.strip() else alert["script"]
            render = (any(d["status"] == DRAFTING for d in waiting) or (isinstance(script, str) and script.strip())
                      or not bulletin_id)
            if render and len(text) > 4000:
                raise InputError("script_too_long", "Nội dung đọc dài quá 4000 ký tự.", "script")
            tree = load_tree(self.db)
            # Amplifiers on now: they warm while the words are rendered, so the first airing waits only for the plans.
            warmed_at = self._warm_up([d["unit_id"] for d in waiting], tree)
            signal = self._signal()
            if render:
                title = f"Cảnh báo {alert['event']}"
                bulletin_id = self._render(title, text, by)
                with self.db.tx() as db:
                    db.execute("UPDATE alerts SET script = ?, bulletin_id = ?, draft = 0, render_state = ?, "
                               "render_error = '', render_retry_at = NULL WHERE id = ?",
                               [text, bulletin_id, RENDERED, alert_id])
            now = self._first_airing(warmed_at)
            devices: set[str] = set()
            ends_at = parse_time(alert["ends_at"], "ends_at")
            for d in waiting:
                with self.db.tx() as db:
                    db.execute("UPDATE alert_decisions SET status = ?, decided_by = ?, decided_at = ?, comment = ? "
                               "WHERE id = ?", [AIRING, by, format_time(now), comment, d["id"]])
                    self.audit.record(by, "alert_approved", alert_id, {
                        "unit": d["unit_id"], "rule": "hết thời gian đếm ngược, không ai từ chối" if automatic
                        else "cán bộ duyệt", "comment": comment})
                devices |= self._plan_repeats(d["id"], alert_id, d["unit_id"], bulletin_id, now, ends_at,
                                              d["repeat_every_min"], bool(d["quiet_override"]), tree, signal)
        self.replan(sorted(devices))
        return self.get(alert_id)

    def reject(self, alert_id: str, by: str, units: Iterable[str] | None = None, comment: str = "") -> AlertView:
        with self._lock:
            self._alert_row(alert_id)
            wanted = set(units) if units is not None else None
            with self.db.tx() as db:
                waiting = [d for d in db.query("SELECT * FROM alert_decisions WHERE alert_id = ? AND status IN (?, ?)",
                                               [alert_id, PENDING, DRAFTING]) if wanted is None or d["unit_id"] in wanted]
                if not waiting:
                    raise InputError("nothing_waiting", "Cảnh báo không có đơn vị nào chờ duyệt.", "alert_id")
                for d in waiting:
                    db.execute("UPDATE alert_decisions SET status = ?, decided_by = ?, decided_at = ?, comment = ? "
                               "WHERE id = ?", [REJECTED, by, format_time(utcnow()), comment, d["id"]])
                    self.audit.record(by, "alert_rejected", alert_id, {"unit": d["unit_id"], "comment": comment})
        return self.get(alert_id)

    def stop(self, alert_id: str, by: str, reason: str = "") -> AlertView:
        """The one-click stop: no more repeats anywhere, and whatever of it plays now stops."""
        with self._lock:
            alert = self._alert_row(alert_id)
            if alert["state"] != ACTIVE:
                raise InputError("alert_not_active", "Cảnh báo này không còn hiệu lực.", "alert_id")
            key = (alert["sender"], alert["identifier"])
            devices = self._end_alert(alert_id, STOPPED, reason or f"dừng bởi {by}", utcnow(), by=by)
            self.book.end(key, utcnow())
            self.audit.record(by, "alert_stopped", alert_id, {"reason": reason, "devices": len(devices)})
        self.replan(sorted(devices))
        if self.send_stop is not None:
            for device_id in self._playing_now(alert_id):
                self.send_stop(device_id)
        return self.get(alert_id)

    def _playing_now(self, alert_id: str) -> list[str]:
        with self.db.tx() as db:
            rows = db.execute("""SELECT device_id, kind FROM playback_events WHERE broadcast_id = ?
                                 AND kind IN ('started', 'finished', 'interrupted', 'failed') ORDER BY id""",
                              [alert_id]).fetchall()
        last: dict[str, str] = {}
        for device_id, kind in rows:
            last[device_id] = kind
        return sorted(d for d, k in last.items() if k == "started")

    def tick(self, now: datetime | None = None) -> None:
        """Render again what failed, air queued decisions whose countdown ran out; end alerts whose time is up."""
        now = now or utcnow()
        self.retry_renders(now)
        with self.db.tx() as db:
            due = sorted({r[0] for r in db.execute(
                "SELECT alert_id FROM alert_decisions WHERE status = ? AND air_at IS NOT NULL AND air_at <= ?",
                [PENDING, format_time(now)])})
        for alert_id in due:
            try:
                with self.db.tx() as db:
                    units = [r[0] for r in db.execute(
                        "SELECT unit_id FROM alert_decisions WHERE alert_id = ? AND status = ? AND air_at <= ?",
                        [alert_id, PENDING, format_time(now)])]
                self.approve(alert_id, SYSTEM, units, automatic=True)
            except InputError as exc:
                log.warning("countdown of alert %s: %s", alert_id, exc.message)
        with self._lock:
            ended = self.book.expire(now)
            devices: set[str] = set()
            for key in ended:
                alert_id = self._alert_id(key)
                if alert_id:
                    devices |= self._end_alert(alert_id, EXPIRED, "hết hiệu lực", now)
        if devices:
            self.replan(sorted(devices))

    # views ----------------------------------------------------------------------------
    def _alert_row(self, alert_id: Any) -> dict[str, Any]:
        with self.db.tx() as db:
            rows = list(db.query("SELECT * FROM alerts WHERE id = ?", [alert_id if isinstance(alert_id, str) else ""]))
        if not rows:
            raise NotFound("unknown_alert", f"Không có cảnh báo '{alert_id}'.")
        return rows[0]

    def list(self, live_only: bool = False, limit: int = 100) -> list[AlertView]:
        with self.db.tx() as db:
            ids = [r[0] for r in db.execute(
                f"SELECT id FROM alerts {'WHERE state = ?' if live_only else ''} ORDER BY received_at DESC LIMIT ?",
                [ACTIVE, limit] if live_only else [limit])]
        return [self.get(i) for i in ids]

    def get(self, alert_id: str) -> AlertView:
        """An alert with its areas, affected units (why, decision), repeats planned and aired per cluster."""
        row = self._alert_row(alert_id)
        tree = load_tree(self.db)
        with self.db.tx() as db:
            decisions = list(db.query("SELECT * FROM alert_decisions WHERE alert_id = ? ORDER BY fraction DESC, unit_id",
                                      [alert_id]))
            rows = list(db.query("SELECT * FROM alert_repeats WHERE alert_id = ? ORDER BY at, item_id", [alert_id]))
            events = db.execute("""SELECT item_id, device_id, kind, planned_at, actual_start, flags FROM playback_events
                                   WHERE broadcast_id = ? AND kind IN ('started', 'finished', 'skipped')
                                   ORDER BY id""", [alert_id]).fetchall()
        repeats = [r for r in rows if r["kind"] != SIGNAL]
        signals = {(r["decision_id"], r["n"]): r for r in rows if r["kind"] == SIGNAL}  # the latest, after a withdrawn one
        played = _airings(events)

        def aired(item_id: str) -> tuple[Airing, ...]:
            return played.get(item_id, ())

        def repeat(r: dict[str, Any]) -> Repeat:
            sig = signals.get((r["decision_id"], r["n"])) if r["kind"] == "alert" else None
            return Repeat(item_id=r["item_id"], n=r["n"], kind=r["kind"], at=r["at"], late_until=r["late_until"],
                          status=r["status"], aired=aired(r["item_id"]),
                          signal=SignalAiring(sig["item_id"], sig["at"], aired(sig["item_id"])) if sig else None)

        units = tuple(AlertUnit(
            unit_id=d["unit_id"], name=tree.name(d["unit_id"]) if d["unit_id"] in tree else d["unit_id"],
            explanation=d["explanation"], fraction=d["fraction"], match_kind=d["match_kind"], action=d["action"],
            status=d["status"], status_vi=STATUS_VI.get(d["status"], d["status"]), rule=d["rule"],
            policy_unit=d["policy_unit"], countdown_min=d["countdown_min"], air_at=d["air_at"],
            decided_by=d["decided_by"], decided_at=d["decided_at"], quiet_override=bool(d["quiet_override"]),
            repeat_every_min=d["repeat_every_min"],
            repeats=tuple(repeat(r) for r in repeats if r["decision_id"] == d["id"]),
        ) for d in decisions)
        planned = sum(1 for r in repeats if r["status"] != "removed")
        aired_count = sum(1 for r in repeats if any(p.kind in ("started", "finished") for p in aired(r["item_id"])))
        return AlertView(
            id=row["id"], source_id=row["source_id"], sender=row["sender"], identifier=row["identifier"],
            sent=row["sent"], msg_type=row["msg_type"], status=row["status"], scope=row["scope"], event=row["event"],
            headline=row["headline"], language=row["language"], risk_level=row["risk_level"], expires=row["expires"],
            ends_at=row["ends_at"], state=row["state"], state_vi=STATE_VI.get(row["state"], row["state"]),
            on_feed=bool(row["on_feed"]), transition=row["transition"], areas=tuple(json.loads(row["areas_json"])),
            script=row["script"], draft=bool(row["draft"]), bulletin_id=row["bulletin_id"], signed=bool(row["signed"]),
            received_at=row["received_at"], units=units,
            render=RenderState(row["render_state"], row["render_attempts"], row["render_error"], row["render_retry_at"]),
            repeats=RepeatCounts(planned=planned, aired=aired_count, total=len(repeats)),
        )


def _airings(events: Iterable[tuple[Any, ...]]) -> dict[str, tuple[Airing, ...]]:
    """Each item's playback per cluster, by device id: a finish is not undone by a later start; the delay is
    that of the last start reported with its planned time."""
    played: dict[str, dict[str, dict[str, Any]]] = {}
    for item_id, device_id, kind, planned_at, actual_start, flags in events:
        rec = played.setdefault(item_id, {}).setdefault(device_id, {"device_id": device_id})
        rec["kind"] = kind if kind != "started" or rec.get("kind") != "finished" else rec["kind"]
        if actual_start and planned_at:
            rec["delay_s"] = round((parse_time(actual_start, "a") - parse_time(planned_at, "p")).total_seconds(), 1)
            rec["late"] = "late" in (flags or "").split(",")
    return {item: tuple(Airing(**rec) for _, rec in sorted(devices.items())) for item, devices in played.items()}


def _guarded(build: Callable[[Any], Any], data: Any, code: str, message: str) -> Any:
    """Build a validated value from boundary input: a wrong type anywhere is a 4xx, never a crash."""
    try:
        return build(data)
    except InputError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise InputError(code, f"{message} ({type(exc).__name__})") from None


class PushRefused(InputError):
    status = 401


def _source_of(row: dict[str, Any]) -> Source:
    trust = Trust(senders=tuple(json.loads(row["senders_json"])), require_signature=bool(row["require_signature"]),
                  certificates=tuple(json.loads(row["certificates_json"])))
    return Source(id=row["id"], kind=row["kind"], name=row["name"], trust=trust, url=row["url"],
                  interval_s=row["interval_s"], token_sha256=row["token_sha256"], max_bytes=row["max_bytes"])


def _source_data(s: Source) -> dict[str, Any]:
    """A source as :meth:`Source.from_dict` reads it back (the token only as its digest)."""
    return {"id": s.id, "kind": s.kind, "name": s.name, "url": s.url, "interval_s": s.interval_s,
            "token_sha256": s.token_sha256, "max_bytes": s.max_bytes, "senders": list(s.trust.senders),
            "require_signature": s.trust.require_signature, "certificates": list(s.trust.certificates)}


def _require_manager(actor: Actor | str) -> None:
    if not isinstance(actor, str):
        require_permission(actor, "manage")


# --- the stored job functions (the job store keeps module-level references only) ---------------


def alerts_tick_job() -> None:
    if _service is not None:
        _service.tick()


def poll_feed_job(source_id: str) -> None:
    if _service is not None:
        _service.poll(source_id)


__all__ = ["AlertService", "PushRefused", "Received", "UPLOAD_SOURCE", "token_digest", "effective_policy"]
