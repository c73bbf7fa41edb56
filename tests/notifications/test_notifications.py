"""Notifications end to end through the Flask app: who is told, the bell, a real SMTP server, a real webhook, retries."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from support.notify_sinks import MailSink, WebhookSink
from support.world import make_world, tomorrow_10h
from loaxa.wire_time import format_time, utcnow


@pytest.fixture
def sinks():
    mail, hook = MailSink(), WebhookSink()
    yield mail, hook
    mail.close()
    hook.close()


@pytest.fixture
def world(tmp_path, sinks):
    mail, hook = sinks
    w = make_world(tmp_path, plans_auto_approve="false", notifications_smtp_host="127.0.0.1",
                   notifications_smtp_port=str(mail.port), notifications_webhook_url=hook.url,
                   notifications_webhook_secret="bi-mat", notifications_offline_minutes="10")
    for who, address in (("approver", "chutich@xa-a.vn"), ("editor", "canbo@xa-a.vn")):
        assert w.call(who, "PUT", "/api/notifications/email", {"email": address}).json == {"email": address}
    yield w
    w.controller.stop()


def inbox(w, who):
    return w.call(who, "GET", "/api/notifications").json


def test_approval_waiting_and_rejected_reach_the_people_concerned_in_the_bell_by_mail_and_webhook(world, sinks):
    mail, hook = sinks
    b = world.call("editor", "POST", "/api/bulletins", {"text": "Thông báo lịch tiêm phòng.", "title": "Tiêm phòng"}).json
    bc = world.call("editor", "POST", "/api/broadcasts",
                    {"bulletin_id": b["id"], "starts_at": tomorrow_10h(), "targets": ["xa-a"]}).json
    assert bc["status"] == "pending_approval"

    waiting = inbox(world, "approver")
    assert waiting["unread"] == 1 and waiting["items"][0]["kind"] == "approval_waiting"
    assert waiting["items"][0]["title"] == "Chờ duyệt: Tiêm phòng" and waiting["items"][0]["link"] == "/approvals"
    assert inbox(world, "root")["unread"] == 1 and inbox(world, "admin")["unread"] == 1
    assert inbox(world, "editor")["unread"] == 0, "the author does not approve their own work"
    assert inbox(world, "auditor")["unread"] == 0

    page = world.call("approver", "GET", "/").get_data(as_text=True)
    assert 'id="bell"' in page and '<span class="count">1</span>' in page
    page = world.call("approver", "GET", "/notifications").get_data(as_text=True)
    assert "Chờ duyệt: Tiêm phòng" in page and "chưa đọc" in page and "Lịch phát chờ duyệt" in page

    assert world.controller.notifications.deliver_due() == 2  # one e-mail (approver-a), one webhook
    [(to, message)] = mail.messages
    assert to == ["chutich@xa-a.vn"] and message["Subject"] == "[Loa Xã] Chờ duyệt: Tiêm phòng"
    assert "editor-a gửi lịch phát" in message.get_content()
    [post] = hook.posts
    assert post["kind"] == "approval_waiting" and post["link"].endswith("/approvals")
    assert {r["username"] for r in post["recipients"]} == {"root", "admin-a", "approver-a"}
    body = json.dumps(post, ensure_ascii=False).encode()
    assert hook.headers[0]["X-Loaxa-Signature"] == "sha256=" + hmac.new(b"bi-mat", body, hashlib.sha256).hexdigest()

    r = world.call("approver", "POST", f"/api/broadcasts/{bc['id']}/reject", {"comment": "Sửa giờ phát."})
    assert r.status_code == 200
    rejected = inbox(world, "editor")["items"]
    assert [n["kind"] for n in rejected] == ["broadcast_rejected"]
    assert "Ý kiến: Sửa giờ phát." in rejected[0]["body"] and inbox(world, "approver")["unread"] == 1
    world.controller.notifications.deliver_due()
    assert mail.messages[-1][0] == ["canbo@xa-a.vn"] and "Bị từ chối: Tiêm phòng" in mail.messages[-1][1]["Subject"]

    nid = waiting["items"][0]["id"]
    assert world.call("editor", "POST", f"/api/notifications/{nid}/read").status_code == 404, "not theirs"
    assert world.call("approver", "POST", f"/api/notifications/{nid}/read").json == {"id": nid, "read": True, "unread": 0}
    assert '<span class="count">' not in world.call("approver", "GET", "/").get_data(as_text=True)
    assert world.call("root", "POST", "/api/notifications/read-all").json["marked"] == 1
    bad = world.call("editor", "PUT", "/api/notifications/email", {"email": "không phải e-mail"})
    assert bad.status_code == 400 and "không hợp lệ" in bad.json["error"] and bad.json["field"] == "email"


def set_offline(w, device_id, minutes_ago):
    with w.controller.db.tx() as db:
        db.execute("UPDATE devices SET online = 0, last_seen = ? WHERE id = ?",
                   [format_time(utcnow() - timedelta(minutes=minutes_ago)), device_id])


def test_a_cluster_silent_longer_than_n_minutes_is_told_once_per_outage_within_scope(world):
    n = world.controller.notifications
    set_offline(world, "loa-a", 5)
    assert n.check_offline() == []
    set_offline(world, "loa-a", 12)
    set_offline(world, "loa-b", 30)
    assert len(n.check_offline()) == 2
    assert n.check_offline() == [], "one outage is told once"
    kinds = [(i["kind"], i["link"]) for i in inbox(world, "approver")["items"]]
    assert kinds == [("device_offline", "/devices/loa-a")], "xa-a's approver hears of xa-a's cluster only"
    assert {i["link"] for i in inbox(world, "root")["items"]} == {"/devices/loa-a", "/devices/loa-b"}
    assert inbox(world, "editor")["unread"] == 0
    set_offline(world, "loa-a", 11)  # it came back and went silent again: a new outage
    assert len(n.check_offline()) == 1


def test_an_unreached_emergency_is_told_to_approvers_of_the_devices(world):
    world.controller.emergencies.on_unreached[0]("bc-khan", ["loa-a"])
    [item] = inbox(world, "approver")["items"]
    assert item["kind"] == "emergency_unreached" and "bc-khan" in item["body"] and item["link"] == "/emergency"
    assert inbox(world, "editor")["unread"] == 0


def test_delivery_failures_are_logged_and_retried_and_never_break_the_use_case(tmp_path, caplog):
    mail, hook = MailSink(), WebhookSink(status=503)
    mail_port = mail.port
    mail.close()  # nothing listens there yet: the mail server is down
    w = make_world(tmp_path, plans_auto_approve="false", notifications_smtp_host="127.0.0.1",
                   notifications_smtp_port=str(mail_port), notifications_webhook_url=hook.url,
                   notifications_retry_s="60", notifications_max_attempts="3", notifications_timeout_s="3")
    try:
        assert w.call("approver", "PUT", "/api/notifications/email", {"email": "chutich@xa-a.vn"}).status_code == 200
        b = w.call("editor", "POST", "/api/bulletins", {"text": "Thông báo ngắn."}).json
        r = w.call("editor", "POST", "/api/broadcasts",
                   {"bulletin_id": b["id"], "starts_at": tomorrow_10h(), "targets": ["xa-a"]})
        assert r.status_code == 201 and r.json["status"] == "pending_approval"
        n = w.controller.notifications
        assert n.deliver_due() == 0
        states = {d.channel: d for d in n.deliveries()}
        assert states["email"].status == "pending" and states["email"].attempts == 1 and "SMTP" in states["email"].last_error
        assert states["webhook"].last_error == "webhook answered 503"
        assert "retry in 60 s" in caplog.text
        assert n.deliver_due() == 0 and all(d.attempts == 1 for d in n.deliveries()), "not before its retry time"

        hook.status = 200
        retry = utcnow() + timedelta(seconds=61)
        assert n.deliver_due(retry) == 1  # the webhook gets through; the mail server is still down
        assert n.deliver_due(retry + timedelta(seconds=121)) == 0
        email = next(d for d in n.deliveries() if d.channel == "email")
        assert email.status == "failed" and email.attempts == 3 and "given up after 3 attempts" in caplog.text
        assert [p["kind"] for p in hook.posts] == ["approval_waiting"]
    finally:
        hook.close()
        w.controller.stop()


def test_a_notice_that_cannot_be_stored_does_not_break_the_use_case(world, monkeypatch):
    def broken(notice):
        raise RuntimeError("disk full")

    monkeypatch.setattr(world.controller.notifications, "_store", broken)
    b = world.call("editor", "POST", "/api/bulletins", {"text": "Thông báo ngắn."}).json
    r = world.call("editor", "POST", "/api/broadcasts",
                   {"bulletin_id": b["id"], "starts_at": tomorrow_10h(), "targets": ["xa-a"]})
    assert r.status_code == 201 and r.json["status"] == "pending_approval"
