"""Broadcast rules, guardrails and approval through the real controller API (no agents needed)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from controller.cli_http.client import ApiError
from support.harness import wait_for
from loaxa.wire_time import format_time, parse_time, utcnow
from support.schedule_api import APPROVER, approve, bulletin, request_raw, same_local_day, schedule, setup
from loaxa.local_time import to_local


def test_approval_flow_records_the_approver_and_only_approved_broadcasts_reach_plans(system):
    ctl = system.controller()
    api, _ = setup(ctl, {"loa-1": "thon-a"})
    b = bulletin(api)
    at = utcnow() + timedelta(hours=2)
    draft = schedule(api, b["id"], at, approved=False, draft=True)
    assert draft["status"] == "draft"
    with pytest.raises(ApiError) as err:
        approve(api, draft)
    assert err.value.status == 409 and err.value.code == "invalid_status"
    pending = api.post(f"/api/broadcasts/{draft['id']}/submit", {"by": "cán bộ văn hóa"})
    assert pending["status"] == "pending_approval"
    assert api.get("/api/plans/loa-1")["plan"]["items"] == []
    with pytest.raises(ApiError) as err:
        api.post(f"/api/broadcasts/{draft['id']}/approve", {"comment": "tự duyệt"})
    assert err.value.status == 403 and err.value.code == "two_person_rule"
    approved = approve(api, pending)
    assert approved["status"] == "approved" and approved["decided_by"] == APPROVER
    assert approved["decision_comment"] == "Đồng ý phát" and approved["decided_at"]
    assert [h["action"] for h in approved["history"]] == ["create", "submit", "approve"]
    items = api.get("/api/plans/loa-1")["plan"]["items"]
    assert [i["broadcast_id"] for i in items] == [approved["id"]]

    other = schedule(api, b["id"], at + timedelta(minutes=30), approved=False)
    rejected = api.approver.post(f"/api/broadcasts/{other['id']}/reject", {"comment": "Trùng nội dung"})
    assert rejected["status"] == "rejected" and rejected["decision_comment"] == "Trùng nội dung"
    assert {b["id"]: b["status"] for b in api.get("/api/broadcasts")} == {approved["id"]: "approved", other["id"]: "rejected"}
    assert len(api.get("/api/plans/loa-1")["plan"]["items"]) == 1

    cancelled = api.post(f"/api/broadcasts/{approved['id']}/cancel", {"by": "cán bộ văn hóa"})
    assert cancelled["status"] == "cancelled"
    assert api.get("/api/plans/loa-1")["plan"]["items"] == []


def test_quiet_hours_refused_with_the_rule_named_then_accepted_with_an_override(system):
    ctl = system.controller()
    api, _ = setup(ctl, {"loa-1": "thon-a"})
    now = utcnow()
    quiet = {"quiet_start": f"{to_local(now + timedelta(hours=2)):%H:%M}",
             "quiet_end": f"{to_local(now + timedelta(hours=4)):%H:%M}"}
    view = api.request("PUT", "/api/units/xa/guardrails", {"values": quiet})
    assert view["own"] == quiet and view["effective"]["quiet_start"] == quiet["quiet_start"]
    village = api.get("/api/units/thon-a/guardrails")
    assert village["own"] == {} and village["effective"]["quiet_end"] == quiet["quiet_end"]
    assert village["set_by"]["quiet_start"] == "xa"

    b = bulletin(api)
    at = now + timedelta(hours=3)
    status, doc = request_raw(api, "POST", "/api/broadcasts",
                              {"bulletin_id": b["id"], "starts_at": format_time(at), "targets": ["xa"]})
    assert status == 409
    assert doc["code"] == "quiet_hours" and doc["field"] == "starts_at"
    assert "giờ yên tĩnh" in doc["error"]
    assert doc["details"][0]["rule"] == f"quiet_hours {quiet['quiet_start']}-{quiet['quiet_end']}"
    assert api.get("/api/broadcasts") == []

    with pytest.raises(ApiError) as err:
        api.post("/api/broadcasts", {"bulletin_id": b["id"], "starts_at": format_time(at), "targets": ["xa"],
                                     "override": {"by": APPROVER, "reason": ""}})
    assert err.value.status == 400 and err.value.code == "invalid_override"
    bc = api.post("/api/broadcasts", {"bulletin_id": b["id"], "starts_at": format_time(at), "targets": ["xa"],
                                      "override": {"by": APPROVER, "reason": "Thông báo khẩn của huyện về lũ"}})
    assert bc["override"]["by"] == APPROVER and bc["override"]["lifts"] == ["quiet_hours"]
    approve(api, bc)
    assert [i["broadcast_id"] for i in api.get("/api/plans/loa-1")["plan"]["items"]] == [bc["id"]]

    with pytest.raises(ApiError) as err:
        api.request("PUT", "/api/units/xa/guardrails", {"values": {"quiet_start": "25:00"}})
    assert err.value.status == 400 and err.value.code == "invalid_time"
    assert api.get("/api/units/xa/guardrails")["own"] == quiet


def test_caps_refuse_with_the_conflicting_broadcast_named(system):
    ctl = system.controller()
    api, _ = setup(ctl, {"loa-1": "thon-a", "loa-2": "thon-b"})
    api.request("PUT", "/api/units/tinh/guardrails", {"max_programmes_per_day": 1})
    b = bulletin(api)
    first_at = same_local_day(utcnow() + timedelta(hours=1), timedelta(minutes=30))
    first = schedule(api, b["id"], first_at, targets=["thon-a"])
    status, doc = request_raw(api, "POST", "/api/broadcasts", {"bulletin_id": b["id"], "targets": ["xa"],
                                                               "starts_at": format_time(first_at + timedelta(minutes=30))})
    assert status == 409 and doc["code"] == "cap_programmes_per_day"
    assert doc["details"][0]["conflicting"] == [first["id"]]
    assert doc["details"][0]["devices"] == ["loa-1"]
    assert doc["details"][0]["rule"] == "cap_programmes_per_day 1"
    # The other village has no programme that day yet.
    schedule(api, b["id"], first_at + timedelta(minutes=30), targets=["thon-b"])

    api.request("PUT", "/api/units/thon-a/guardrails", {"max_minutes_per_programme": 0.01, "max_programmes_per_day": None})
    status, doc = request_raw(api, "POST", "/api/broadcasts", {"bulletin_id": b["id"], "targets": ["loa-1"],
                                                               "starts_at": format_time(first_at + timedelta(hours=2))})
    assert status == 409 and doc["code"] == "cap_minutes_per_programme"
    assert doc["details"][0]["rule"] == "cap_minutes_per_programme 0.01"


BAD_RULES = [
    ({"starts_at": "2020-01-01 06:00"}, 400, "in_the_past"),
    ({"rule": {"start_date": "2020-01-01", "end_date": "2020-01-03", "slot_times": ["06:00"]}}, 400, "in_the_past"),
    ({"rule": {"start_date": "2030-01-03", "end_date": "2030-01-01", "slot_times": ["06:00"]}}, 400, "invalid_date_range"),
    ({"rule": {"start_date": "2030-01-01", "end_date": "2030-01-03", "slot_times": ["6:00"], "offset_s": 75}}, 400,
     "invalid_offset"),
    ({"rule": {"start_date": "2030-01-01", "end_date": "2030-01-03", "slot_times": ["6:00"], "weekdays": [9]}}, 400,
     "invalid_weekdays"),
    ({"rule_text": "hằng ngày lúc giờ nào đó"}, 400, "invalid_time"),
    ({"starts_at": "2030-01-01 06:00", "repeats": 50}, 400, "invalid_repeats"),
    ({"starts_at": "2030-01-01 06:00", "order": "first"}, 400, "invalid_order"),
    ({"starts_at": "2030-01-01 06:00", "override": {"by": "x", "reason": "đủ dài rồi", "lifts": ["overlap"]}}, 400,
     "invalid_override"),
]


def test_bad_rules_are_refused_with_a_code_and_store_nothing(system):
    ctl = system.controller()
    api, _ = setup(ctl, {"loa-1": "thon-a"})
    b = bulletin(api)
    for data, status, code in BAD_RULES:
        got, doc = request_raw(api, "POST", "/api/broadcasts", {"bulletin_id": b["id"], "targets": ["xa"], **data})
        assert (got, doc["code"]) == (status, code), (data, doc)
        assert doc["error"]
    assert api.get("/api/broadcasts") == []


def test_vietnamese_rule_text_weekdays_repeats_and_edit(system):
    ctl = system.controller()
    api, _ = setup(ctl, {"loa-1": "thon-a"})
    b = bulletin(api)
    year = to_local(utcnow()).year + 1
    bc = schedule(api, b["id"], rule_text=f"từ ngày 05/01 đến ngày 18/01/{year}, Thứ 2, Thứ 6, 6 giờ 30, phát 2 lần cách nhau 1 phút")
    assert bc["rule"]["weekdays"] == [0, 4] and bc["rule"]["repeats"] == 2
    assert bc["rule_vi"].startswith("Các ngày Thứ 2, Thứ 6")
    edited = api.request("PATCH", f"/api/broadcasts/{bc['id']}", {"rule_text": f"ngày 07/01/{year} lúc 17h", "by": "cb"})
    assert edited["status"] == "pending_approval" and edited["rule"]["start_date"] == f"{year}-01-07"
    assert to_local(parse_time(edited["starts_at"], "starts_at")).hour == 17
    assert [(h["action"], h["by"]) for h in edited["history"]] == [("create", "test-admin"), ("approve", APPROVER),
                                                                    ("edit", "test-admin")]
    jobs = {j["id"] for j in api.get("/api/jobs")}
    assert "plans-periodic" in jobs and f"render:{bc['id']}" not in jobs  # not approved any more
    approve(api, edited)
    assert f"render:{bc['id']}" in {j["id"] for j in api.get("/api/jobs")}


def test_media_check_missed_during_a_restart_still_runs_and_renders_missing_media(system):
    ctl = system.controller(extra_toml="[plans]\nrender_lead_minutes = 2\n")
    api, _ = setup(ctl, {"loa-1": "thon-a"})
    b = bulletin(api)
    media = ctl.data_dir / "media" / f"{b['media']['sha256']}.ogg"
    bc = schedule(api, b["id"], utcnow() + timedelta(minutes=2, seconds=6))
    job = next(j for j in api.get("/api/jobs") if j["id"] == f"render:{bc['id']}")
    run_at = parse_time(job["next_run_at"], "next_run_at")
    assert run_at > utcnow()

    ctl.stop()
    media.unlink()  # lost while the controller was down
    wait_for(lambda: utcnow() > run_at + timedelta(seconds=1), timeout=30, what="the job's time to pass")
    ctl.start()

    def rendered_and_planned():
        item = api.get("/api/plans/loa-1")["plan"]["items"][0]
        return (ctl.data_dir / "media" / f"{item['sha256']}.ogg").is_file()

    wait_for(rendered_and_planned, timeout=30, what="the missed media check to render the media and replan")
    assert api.get(f"/api/bulletins/{b['id']}")["media"]["sha256"] == api.get("/api/plans/loa-1")["plan"]["items"][0]["sha256"]
    assert ctl.log().count("rendering it again") == 1
    assert not any(j["id"] == f"render:{bc['id']}" for j in api.get("/api/jobs"))  # it airs once: nothing left
