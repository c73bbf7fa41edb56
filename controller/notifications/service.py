"""Notifications: tell the people concerned when something needs them, in the UI, by e-mail and to a webhook.

Four things are told: an emergency that did not reach some clusters, a cluster silent longer
than ``offline_minutes``, a broadcast waiting for approval, a broadcast rejected (see
:mod:`controller.notifications.kinds` for who is concerned).  Raising a notice stores it and
each person's unread copy (the bell) and queues its deliveries in one transaction; the
deliveries go out from a background thread, outside any use case's transaction.

Raising never fails the use case that raised it: any error is logged and swallowed.  A
delivery that fails is logged, kept and tried again after ``retry_s``, doubling, up to
``max_attempts``; a mail server or gateway that is down loses nothing and blocks nothing.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Protocol, Sequence

from controller.db import Database
from controller.errors import InputError, NotFound
from controller.notifications.channels import DeliveryFailed, post_webhook, send_email
from controller.notifications.kinds import (APPROVAL_WAITING, BROADCAST_REJECTED, DEVICE_OFFLINE, EMERGENCY_UNREACHED,
                                            KINDS, Notice)
from controller.notifications.settings import NotificationSettings
from controller.people.actor import Actor
from controller.people.users import User, Users
from loaxa.local_time import to_local
from loaxa.wire_time import format_time, parse_time, utcnow

log = logging.getLogger(__name__)

EMAIL, WEBHOOK = "email", "webhook"
PENDING, SENT, FAILED = "pending", "sent", "failed"
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")
MAX_BACKOFF_S = 6 * 3600


class _Change(Protocol):
    @property
    def at(self) -> str: ...


class ChangedBroadcast(Protocol):
    """What a notice reads of a broadcast (:class:`controller.plans.records.Broadcast`): the plans sit
    above the notifications, so it is handed over rather than imported."""

    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def bulletin_id(self) -> str: ...
    @property
    def starts_at(self) -> str: ...
    @property
    def created_by(self) -> str: ...
    @property
    def decided_by(self) -> str: ...
    @property
    def decision_comment(self) -> str: ...
    @property
    def devices(self) -> Sequence[str]: ...
    @property
    def history(self) -> Sequence[_Change]: ...


@dataclass(frozen=True)
class NotificationView:
    """One notice as one person sees it in the bell."""

    id: int
    kind: str
    kind_vi: str
    title: str
    body: str
    link: str
    created_at: str
    read: bool

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "kind_vi": self.kind_vi, "title": self.title, "body": self.body,
                "link": self.link, "created_at": self.created_at, "read": self.read}


@dataclass(frozen=True)
class DeliveryView:
    id: int
    notification_id: int
    channel: str
    address: str
    status: str
    attempts: int
    last_error: str


@dataclass(frozen=True)
class NotificationRead:
    """One notice marked read, and how many the person has left unread."""

    id: int
    read: bool
    unread: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "read": self.read, "unread": self.unread}


@dataclass(frozen=True)
class AllRead:
    """How many notices were just marked read (none are left unread)."""

    marked: int
    unread: int

    def to_dict(self) -> dict[str, Any]:
        return {"marked": self.marked, "unread": self.unread}


@dataclass(frozen=True)
class NotificationEmail:
    """The address a person's notices are e-mailed to (empty: none)."""

    email: str

    def to_dict(self) -> dict[str, Any]:
        return {"email": self.email}


class Notifications:
    """One per controller; :meth:`start` runs the thread that checks silent clusters and delivers."""

    def __init__(self, db: Database, users: Users, settings: NotificationSettings, public_url: str = ""):
        self.db = db
        self.users = users
        self.settings = settings
        self.public_url = public_url.rstrip("/")
        self._deliver_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # the background thread ---------------------------------------------------------------
    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="notifications", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.timeout_s + 5)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.check_offline()
                self.deliver_due()
            except Exception:  # noqa: BLE001 - the thread outlives any one bad round
                log.exception("notification round failed")
            self._wake.wait(self.settings.check_s)
            self._wake.clear()

    # raising -----------------------------------------------------------------------------
    def raise_notice(self, notice: Notice) -> int | None:
        """Store ``notice`` for the people concerned and queue its deliveries; None if told before or on error."""
        try:
            notification_id = self._store(notice)
        except Exception:  # noqa: BLE001 - a notice must never break the use case that raised it
            log.exception("notification %s (%s) could not be stored", notice.kind, notice.key)
            return None
        if notification_id is not None:
            self._wake.set()
        return notification_id

    def _store(self, notice: Notice) -> int | None:
        people = self.recipients(notice)
        now = format_time(utcnow())
        with self.db.tx() as db:
            cur = db.execute("INSERT OR IGNORE INTO notifications(kind, dedupe_key, title, body, link, created_at) "
                             "VALUES (?, ?, ?, ?, ?, ?)",
                             [notice.kind, notice.key, notice.title, notice.body, notice.link, now])
            if cur.rowcount == 0:
                return None
            notification_id = cur.lastrowid
            for user in people:
                db.execute("INSERT INTO notification_inbox(notification_id, user_id) VALUES (?, ?)",
                           [notification_id, user.id])
            if self.settings.smtp_host:
                emails = dict(db.execute("SELECT user_id, email FROM notification_contacts").fetchall())
                for user in people:
                    if emails.get(user.id):
                        self._queue(db, notification_id, EMAIL, emails[user.id], now)
            if self.settings.webhook_url:
                self._queue(db, notification_id, WEBHOOK, self.settings.webhook_url, now)
        log.info("notification %s %s for %s", notice.kind, notice.key, ", ".join(u.username for u in people) or "nobody")
        return notification_id

    @staticmethod
    def _queue(db: Any, notification_id: int, channel: str, address: str, now: str) -> None:
        db.execute("INSERT INTO notification_deliveries(notification_id, channel, address, status, attempts, next_at) "
                   "VALUES (?, ?, ?, ?, 0, ?)", [notification_id, channel, address, PENDING, now])

    def recipients(self, notice: Notice) -> list[User]:
        """The people concerned: those named, and those of the kind's roles whose scope covers the subject."""
        kind = KINDS[notice.kind]
        out = []
        for user in self.users.list():
            if user.username in notice.exclude:
                continue
            if user.username in notice.people:
                out.append(user)
                continue
            if user.role not in kind.roles:
                continue
            scope = self.users.scope(user)
            if scope.whole_tree or any(scope.has_device(d) for d in notice.devices) or any(
                    scope.has_unit(u) for u in notice.units):
                out.append(user)
        return out

    # what raises notices -------------------------------------------------------------------
    def on_broadcast(self, bc: ChangedBroadcast) -> None:
        """After any change of a broadcast: one waiting for approval, or one just rejected, is told."""
        try:
            status = bc.status
            if status not in ("pending_approval", "rejected"):
                return
            last_at = bc.history[-1].at if bc.history else ""
            title = self._bulletin_title(bc.bulletin_id)
            when = bc.starts_at or ""
            link = "/approvals" if status == "pending_approval" else "/calendar"
            if status == "pending_approval":
                self.raise_notice(Notice(
                    APPROVAL_WAITING, f"{APPROVAL_WAITING}:{bc.id}:{last_at}",
                    f"Chờ duyệt: {title}", f"{self._full_name(bc.created_by)} gửi lịch phát \"{title}\" ({_local(when)}) chờ duyệt.",
                    link, devices=tuple(bc.devices), exclude=(bc.created_by,)))
            else:
                comment = bc.decision_comment or ""
                self.raise_notice(Notice(
                    BROADCAST_REJECTED, f"{BROADCAST_REJECTED}:{bc.id}:{last_at}",
                    f"Bị từ chối: {title}",
                    f"{self._full_name(bc.decided_by) or 'Lãnh đạo'} đã từ chối lịch phát \"{title}\" ({_local(when)})."
                    + (f" Ý kiến: {comment}" if comment else ""),
                    link, people=(bc.created_by,)))
        except Exception:  # noqa: BLE001 - never break the use case
            log.exception("broadcast notification failed")

    def on_unreached(self, broadcast_id: str, devices: Iterable[str]) -> None:
        devices = tuple(sorted(devices))
        names = ", ".join(self._device_names(devices))
        self.raise_notice(Notice(
            EMERGENCY_UNREACHED, f"{EMERGENCY_UNREACHED}:{broadcast_id}",
            f"Phát khẩn cấp không tới {len(devices)} cụm loa",
            f"Lệnh phát khẩn cấp {broadcast_id} hết hiệu lực mà các cụm loa sau chưa xác nhận đã phát: {names}.",
            "/emergency", devices=devices))

    def check_offline(self, now: datetime | None = None) -> list[int]:
        """Tell about each cluster silent longer than ``offline_minutes``, once per outage."""
        now = now or utcnow()
        cutoff = now - timedelta(minutes=self.settings.offline_minutes)
        with self.db.tx() as db:
            rows = db.execute("SELECT id, name, last_seen FROM devices WHERE online = 0 AND last_seen IS NOT NULL").fetchall()
        raised = []
        for device_id, name, last_seen in rows:
            try:
                seen = parse_time(last_seen, "last_seen")
            except (ValueError, InputError):
                continue
            if seen > cutoff:
                continue
            minutes = int((now - seen).total_seconds() // 60)
            nid = self.raise_notice(Notice(
                DEVICE_OFFLINE, f"{DEVICE_OFFLINE}:{device_id}:{last_seen}", f"{name} mất kết nối",
                f"Cụm loa {name} ({device_id}) không liên lạc từ {_local(last_seen)} ({minutes} phút).",
                f"/devices/{device_id}", devices=(device_id,)))
            if nid is not None:
                raised.append(nid)
        return raised

    def _full_name(self, username: Any) -> str:
        user = self.users.find(username) if username else None
        return (user.display_name or user.username) if user else str(username or "")

    def _bulletin_title(self, bulletin_id: Any) -> str:
        with self.db.tx() as db:
            row = db.execute("SELECT title FROM bulletins WHERE id = ?", [bulletin_id]).fetchone()
        return (row[0] if row else "") or str(bulletin_id or "")

    def _device_names(self, devices: tuple[str, ...]) -> list[str]:
        with self.db.tx() as db:
            names = dict(db.execute(f"SELECT id, name FROM devices WHERE id IN ({', '.join('?' * len(devices))})",
                                    list(devices)).fetchall()) if devices else {}
        return [names.get(d, d) for d in devices]

    # the bell ------------------------------------------------------------------------------
    def for_person(self, actor: Actor, limit: int = 50, unread_only: bool = False) -> list[NotificationView]:
        if actor.user_id is None:
            return []
        with self.db.tx() as db:
            rows = db.execute(
                "SELECT n.id, n.kind, n.title, n.body, n.link, n.created_at, i.read_at FROM notification_inbox i "
                "JOIN notifications n ON n.id = i.notification_id WHERE i.user_id = ?"
                + (" AND i.read_at IS NULL" if unread_only else "") + " ORDER BY n.id DESC LIMIT ?",
                [actor.user_id, max(1, min(int(limit), 500))]).fetchall()
        return [NotificationView(r[0], r[1], KINDS[r[1]].label_vi, r[2], r[3], r[4], r[5], r[6] is not None)
                for r in rows]

    def unread_count(self, actor: Actor) -> int:
        if actor.user_id is None:
            return 0
        with self.db.tx() as db:
            return db.execute("SELECT COUNT(*) FROM notification_inbox WHERE user_id = ? AND read_at IS NULL",
                              [actor.user_id]).fetchone()[0]

    def mark_read(self, actor: Actor, notification_id: Any) -> NotificationRead:
        """Mark one of the person's own notices read (another person's is not found)."""
        if actor.user_id is None or not isinstance(notification_id, int):
            raise NotFound("unknown_notification", "Không có thông báo này.")
        with self.db.tx() as db:
            cur = db.execute("UPDATE notification_inbox SET read_at = COALESCE(read_at, ?) "
                             "WHERE notification_id = ? AND user_id = ?",
                             [format_time(utcnow()), notification_id, actor.user_id])
            if cur.rowcount == 0:
                raise NotFound("unknown_notification", f"Không có thông báo số {notification_id}.")
        return NotificationRead(notification_id, True, self.unread_count(actor))

    def mark_all_read(self, actor: Actor) -> AllRead:
        if actor.user_id is None:
            return AllRead(0, 0)
        with self.db.tx() as db:
            cur = db.execute("UPDATE notification_inbox SET read_at = ? WHERE user_id = ? AND read_at IS NULL",
                             [format_time(utcnow()), actor.user_id])
        return AllRead(cur.rowcount, 0)

    def set_email(self, actor: Actor, email: Any) -> NotificationEmail:
        """The address this person's notices are e-mailed to (empty: none)."""
        if actor.user_id is None:
            raise NotFound("unknown_user", "Cần đăng nhập.")
        if not isinstance(email, str) or len(email) > 254 or (email.strip() and not EMAIL_RE.match(email.strip())):
            raise InputError("invalid_email", f"Địa chỉ e-mail '{email}' không hợp lệ.", "email")
        email = email.strip()
        with self.db.tx() as db:
            db.execute("INSERT OR REPLACE INTO notification_contacts(user_id, email, updated_at) VALUES (?, ?, ?)",
                       [actor.user_id, email, format_time(utcnow())])
        return NotificationEmail(email)

    def email_of(self, actor: Actor) -> str:
        with self.db.tx() as db:
            row = db.execute("SELECT email FROM notification_contacts WHERE user_id = ?", [actor.user_id]).fetchone()
        return row[0] if row else ""

    # delivery ------------------------------------------------------------------------------
    def deliver_due(self, now: datetime | None = None) -> int:
        """Try every delivery that is due; return how many got through. Failures wait and try again."""
        with self._deliver_lock:
            now = now or utcnow()
            with self.db.tx() as db:
                due = db.execute(
                    "SELECT d.id, d.channel, d.address, d.attempts, n.id, n.kind, n.title, n.body, n.link, n.created_at "
                    "FROM notification_deliveries d JOIN notifications n ON n.id = d.notification_id "
                    "WHERE d.status = ? AND d.next_at <= ? ORDER BY d.id LIMIT 100",
                    [PENDING, format_time(now)]).fetchall()
            sent = 0
            for did, channel, address, attempts, nid, kind, title, body, link, created_at in due:
                try:
                    if channel == EMAIL:
                        send_email(self.settings, address, f"[Loa Xã] {title}",
                                   f"{title}\n\n{body}\n\n{self.public_url}{link}\n")
                    else:
                        post_webhook(self.settings, self._payload(nid, kind, title, body, link, created_at))
                except DeliveryFailed as exc:
                    self._failed(did, channel, attempts + 1, str(exc), now)
                    continue
                with self.db.tx() as db:
                    db.execute("UPDATE notification_deliveries SET status = ?, attempts = ?, sent_at = ?, last_error = '' "
                               "WHERE id = ?", [SENT, attempts + 1, format_time(utcnow()), did])
                sent += 1
            return sent

    def _failed(self, delivery_id: int, channel: str, attempts: int, error: str, now: datetime) -> None:
        give_up = attempts >= self.settings.max_attempts
        wait = min(self.settings.retry_s * 2 ** (attempts - 1), MAX_BACKOFF_S)
        if give_up:
            log.error("notification %s delivery %d given up after %d attempts: %s", channel, delivery_id, attempts, error)
        else:
            log.warning("notification %s delivery %d failed (attempt %d), retry in %.0f s: %s", channel, delivery_id,
                        attempts, wait, error)
        with self.db.tx() as db:
            db.execute("UPDATE notification_deliveries SET status = ?, attempts = ?, last_error = ?, next_at = ? "
                       "WHERE id = ?", [FAILED if give_up else PENDING, attempts, error[:500],
                                        format_time(now + timedelta(seconds=wait)), delivery_id])

    def _payload(self, nid: int, kind: str, title: str, body: str, link: str, created_at: str) -> dict[str, Any]:
        with self.db.tx() as db:
            user_ids = [r[0] for r in db.execute("SELECT user_id FROM notification_inbox WHERE notification_id = ?", [nid])]
            emails = dict(db.execute("SELECT user_id, email FROM notification_contacts").fetchall())
        people = [u for u in self.users.list() if u.id in user_ids]
        return {"id": nid, "kind": kind, "kind_vi": KINDS[kind].label_vi, "title": title, "body": body,
                "link": f"{self.public_url}{link}", "created_at": created_at,
                "recipients": [{"username": u.username, "display_name": u.display_name, "role": u.role,
                                "unit_id": u.unit_id, "email": emails.get(u.id, "")} for u in people]}

    def deliveries(self, notification_id: int | None = None) -> list[DeliveryView]:
        """Each delivery and its state, for operators and tests."""
        with self.db.tx() as db:
            rows = db.execute("SELECT id, notification_id, channel, address, status, attempts, last_error "
                              "FROM notification_deliveries" + (" WHERE notification_id = ?" if notification_id else "")
                              + " ORDER BY id", [notification_id] if notification_id else []).fetchall()
        return [DeliveryView(*r) for r in rows]


def _local(instant: Any) -> str:
    try:
        return to_local(parse_time(instant, "at")).strftime("%H:%M %d/%m/%Y")
    except (ValueError, InputError, TypeError):
        return str(instant or "")
