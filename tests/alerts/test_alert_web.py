"""The alert API and the "Cảnh báo" page through Flask: push with a source token, upload, approve, stop, 4xx on bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest

from support.cap_docs import BILLION_LAUGHS, GEOJSON, SENDER, seed_son_ha, vi_alert
from support.world import make_world
from loaxa.protocol import utcnow

POLICY = {"rules": [{"name": "cấp 4-5 tự phát", "action": "auto", "risk_levels": [4, 5]}], "default_action": "queue"}


@pytest.fixture
def world(tmp_path):
    w = make_world(tmp_path)
    seed_son_ha(w.controller.registry)
    assert w.call("root", "POST", "/api/alerts/geography", data=GEOJSON.read_bytes(),
                  content_type="application/geo+json").status_code == 201
    assert w.call("root", "PUT", "/api/alerts/policies/tinh-son-ha", json=POLICY).status_code == 200
    r = w.call("root", "POST", "/api/alerts/sources", json={"id": "so-tnmt", "kind": "push", "token": "ma-day-tin",
                                                              "senders": [SENDER], "name": "Sở TN&MT Sơn Hà"})
    assert r.status_code == 201 and "token" not in r.json and r.json["has_token"]
    yield w
    w.controller.stop()


def push(w, doc, token="ma-day-tin"):
    return w.client().post("/api/alerts/push", data=doc, content_type="application/cap+xml",
                           headers={"Authorization": f"Bearer {token}"})


def test_push_airs_by_policy_and_the_page_explains_units_decisions_and_repeats(world):
    now = utcnow()
    r = push(world, vi_alert("SH-W1", sent=now, expires=now + timedelta(hours=1)))
    assert r.status_code == 202 and r.json["transition"] == "new"
    alert_id = r.json["alert_id"]
    live = world.call("root", "GET", "/api/alerts?live=1").json
    assert [a["id"] for a in live] == [alert_id]
    assert live[0]["units"][0]["explanation"] == "xã Tân Lập: đa giác 1 phủ 83 %"
    page = world.call("root", "GET", "/alerts").get_data(as_text=True)
    assert "Cảnh báo thiên tai" in page and "xã Tân Lập: đa giác 1 phủ 83 %" in page
    assert "đang phát" in page and "cấp 4-5 tự phát" in page and "Phía tây xã Tân Lập" in page
    assert "Dừng cảnh báo" in page and "0 đã phát / 2 dự kiến" in page

    editor = world.call("editor", "POST", f"/api/alerts/{alert_id}/stop", json={})
    assert editor.status_code == 403  # only approvers and administrators stop a warning
    stopped = world.call("root", "POST", f"/api/alerts/{alert_id}/stop", json={"reason": "thử dừng"})
    assert stopped.status_code == 200 and stopped.json["state"] == "stopped"
    assert "Hiện không có cảnh báo nào đang hiệu lực" in world.call("root", "GET", "/alerts").get_data(as_text=True)


def test_bad_pushes_and_uploads_answer_4xx_in_vietnamese_and_store_nothing(world):
    now = utcnow()
    assert push(world, vi_alert("SH-W2", sent=now, expires=now + timedelta(hours=1)), token="sai").status_code == 401
    assert world.client().post("/api/alerts/push", data=b"<x/>").status_code == 401
    bomb = push(world, BILLION_LAUGHS)
    assert bomb.status_code == 400 and bomb.json["code"] == "xml_forbidden_construct" and "DTD" in bomb.json["error"]
    invalid = push(world, vi_alert("SH-W3", sent=now, expires=None).replace(b"<scope>Public", b"<scope>Everyone"))
    assert invalid.status_code == 400 and invalid.json["code"] == "cap_schema_invalid"
    other = push(world, vi_alert("SH-W4", sent=now, expires=None, sender="la@example.org"))
    assert other.status_code == 403 and other.json["code"] == "cap_sender_refused"
    assert world.call("root", "GET", "/api/alerts").json == []
    assert world.call("root", "POST", "/api/alerts/upload", json={"document": ""}).status_code == 400
    bad_policy = world.call("root", "PUT", "/api/alerts/policies/tinh-son-ha", json={"rules": [{"action": "air"}]})
    assert bad_policy.status_code == 400 and "error" in bad_policy.json
    assert world.call("root", "PUT", "/api/alerts/policies/tinh-son-ha", json={"rules": 5}).status_code == 400
    assert world.call("root", "POST", "/api/alerts/sources", json={"id": "x", "kind": "feed",
                                                                    "interval_s": "nhanh"}).status_code == 400


def test_upload_of_a_queued_alert_is_approved_by_a_second_person(world):
    now = utcnow()
    doc = vi_alert("SH-W5", sent=now, expires=now + timedelta(hours=1), risk=2).decode()
    r = world.call("root", "POST", "/api/alerts/upload", json={"document": doc})
    assert r.status_code == 201 and r.json["decisions"][0]["status"] == "pending"
    page = world.call("root", "GET", "/alerts").get_data(as_text=True)
    assert "chờ duyệt" in page and "Duyệt phát các đơn vị đang chờ" in page
    done = world.call("root", "POST", f"/api/alerts/{r.json['alert_id']}/approve", json={"comment": "đồng ý"})
    assert done.status_code == 200 and done.json["units"][0]["status"] == "airing"
    assert done.json["units"][0]["decided_by"] == "root"


def test_sources_are_edited_disabled_and_enabled_from_the_alerts_page_and_audited(world):
    now = utcnow()
    page = world.call("root", "GET", "/alerts").get_data(as_text=True)
    assert 'id="source-so-tnmt"' in page and "Tắt nguồn" in page and "Sở TN&amp;MT Sơn Hà" in page
    assert 'id="alert-sources"' not in world.call("approver", "GET", "/alerts").get_data(as_text=True)

    assert world.call("editor", "PATCH", "/api/alerts/sources/so-tnmt", json={"name": "x"}).status_code == 403
    bad = world.call("root", "PATCH", "/api/alerts/sources/so-tnmt", json={"max_bytes": 10})
    assert bad.status_code == 400 and "kích thước" in bad.json["error"]
    assert world.call("root", "PATCH", "/api/alerts/sources/so-tnmt", json={"kind": "feed"}).status_code == 400
    assert world.call("root", "PATCH", "/api/alerts/sources/khong-co", json={"name": "x"}).status_code == 404
    edited = world.call("root", "PATCH", "/api/alerts/sources/so-tnmt",
                        json={"name": "Sở TN&MT", "token": "ma-moi", "senders": f"{SENDER}\nkhac@example.vn"})
    assert edited.status_code == 200, edited.json
    assert edited.json["name"] == "Sở TN&MT" and edited.json["senders"] == [SENDER, "khac@example.vn"]
    assert push(world, vi_alert("SH-S1", sent=now, expires=now + timedelta(hours=1))).status_code == 401
    assert push(world, vi_alert("SH-S1", sent=now, expires=now + timedelta(hours=1)), token="ma-moi").status_code == 202

    off = world.call("root", "POST", "/api/alerts/sources/so-tnmt/disable")
    assert off.status_code == 200 and off.json["enabled"] is False
    assert push(world, vi_alert("SH-S2", sent=now, expires=now + timedelta(hours=1)), token="ma-moi").status_code == 401
    assert world.call("root", "GET", "/api/alerts/sources").json == []
    assert [s["enabled"] for s in world.call("root", "GET", "/api/alerts/sources?all=1").json] == [False]
    assert "Bật lại nguồn" in world.call("root", "GET", "/alerts").get_data(as_text=True)
    assert world.call("root", "POST", "/api/alerts/sources/so-tnmt/enable").json["enabled"] is True
    assert push(world, vi_alert("SH-S3", sent=now, expires=now + timedelta(hours=1)), token="ma-moi").status_code == 202

    with world.controller.db.tx() as db:
        actions = [r[0] for r in db.execute("SELECT action FROM audit_log WHERE target = 'so-tnmt' ORDER BY id")]
        edit = db.execute("SELECT actor, details FROM audit_log WHERE action = 'alert_source_edited'").fetchone()
    assert actions == ["alert_source_added", "alert_source_edited", "alert_source_disabled", "alert_source_enabled"]
    assert edit[0] == "root" and '"changed": ["name", "senders", "token"]' in edit[1]
