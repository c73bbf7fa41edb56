"""Editing the week over real HTTP: duplicates, withdrawing, cancelling one occurrence, the approval queue's facts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from controller.cli_http.client import ApiError
from loaxa.local_time import to_local
from loaxa.wire_time import format_time, utcnow
from support.schedule_api import approve, bulletin, daily_rule, schedule, setup


def _audit_actions(ctl) -> list[str]:
    with ctl.db() as conn:
        return [r[0] for r in conn.execute("SELECT action FROM audit_log ORDER BY id")]


def test_the_same_bulletin_twice_for_the_same_slot_and_device_asks_for_confirmation(system):
    ctl = system.controller()
    api, _ = setup(ctl, {"loa-1": "thon-a", "loa-2": "thon-b"})
    b = bulletin(api)
    at = utcnow() + timedelta(hours=2)
    first = schedule(api, b["id"], at, approved=False)
    with pytest.raises(ApiError) as err:
        schedule(api, b["id"], at, targets=["thon-a"], approved=False)
    assert err.value.status == 409 and err.value.code == "duplicate"
    assert "đã được gửi phát" in str(err.value)
    assert len(api.get("/api/broadcasts")) == 1, "nothing stored on refusal"
    other_slot = schedule(api, b["id"], at + timedelta(minutes=30), approved=False)
    assert other_slot["status"] == "pending_approval", "another slot is no duplicate"
    again = schedule(api, b["id"], at, targets=["thon-a"], approved=False, confirm_duplicate=True)
    assert again["status"] == "pending_approval"
    assert "broadcast_duplicate_confirmed" in _audit_actions(ctl)


def test_an_editor_withdraws_a_submitted_broadcast_and_edits_it(system):
    ctl = system.controller()
    api, _ = setup(ctl, {"loa-1": "thon-a"})
    b = bulletin(api)
    bc = schedule(api, b["id"], utcnow() + timedelta(hours=2), approved=False)
    back = api.post(f"/api/broadcasts/{bc['id']}/withdraw", {})
    assert back["status"] == "draft" and back["history"][-1]["action"] == "withdraw"
    assert api.approver.get("/api/approvals") == []
    with pytest.raises(ApiError) as err:
        api.post(f"/api/broadcasts/{bc['id']}/withdraw", {})
    assert err.value.status == 409
    later = to_local(utcnow() + timedelta(days=1))
    with pytest.raises(ApiError) as err:
        api.post(f"/api/broadcasts/{bc['id']}/reschedule", {"recurrence": "daily", "start_date": later.date().isoformat(),
                                                            "slot_times": "0630"})
    assert err.value.status == 400 and err.value.code == "end_date_required"
    edited = api.post(f"/api/broadcasts/{bc['id']}/reschedule", {
        "recurrence": "daily", "start_date": later.date().isoformat(),
        "end_date": (later + timedelta(days=2)).strftime("%d/%m/%Y"), "slot_times": "6h30, 17.15"})
    assert edited["status"] == "draft" and edited["history"][-1]["action"] == "edit"
    assert edited["rule"]["slot_times"] == ["06:30", "17:15"] and edited["rule"]["end_date"] > edited["rule"]["start_date"]
    assert api.post(f"/api/broadcasts/{bc['id']}/submit", {})["status"] == "pending_approval"
    assert "broadcast_withdrawn" in _audit_actions(ctl)


def test_cancelling_one_occurrence_removes_it_from_plans_and_shows_it_cancelled_in_the_logbook(system):
    ctl = system.controller(guardrails_toml='max_programmes_per_day = ""\nmax_minutes_per_programme = ""\n'
                                             'quiet_start = "00:00"\nquiet_end = "00:00"\n')
    api, _ = setup(ctl, {"loa-1": "thon-a"})
    b = bulletin(api)
    first = utcnow().replace(second=0, microsecond=0) + timedelta(minutes=10)
    bc = approve(api, api.post("/api/broadcasts", {"bulletin_id": b["id"], "targets": ["xa"],
                                                   "rule": daily_rule(first, 3)}))
    items = api.get("/api/plans/loa-1")["plan"]["items"]
    keys = sorted(i["item_id"] for i in items)
    assert len(keys) >= 2
    second = first + timedelta(days=1)
    key = f"{bc['id']}-{second:%Y%m%d%H%M}-0"
    assert key in keys
    with pytest.raises(ApiError) as err:
        api.post(f"/api/broadcasts/{bc['id']}/occurrences/cancel", {"at": format_time(second), "reason": "x"})
    assert err.value.status == 400 and err.value.code == "invalid_reason"
    with pytest.raises(ApiError) as err:
        api.post(f"/api/broadcasts/{bc['id']}/occurrences/cancel",
                 {"at": format_time(second + timedelta(minutes=7)), "reason": "Họp thôn đột xuất"})
    assert err.value.code == "unknown_occurrence"
    done = api.post(f"/api/broadcasts/{bc['id']}/occurrences/cancel",
                    {"at": format_time(second), "reason": "Họp thôn đột xuất"})
    assert done["status"] == "approved", "the broadcast stays approved"
    assert done["rule"]["cancelled"] and done["history"][-1]["action"] == "cancel_occurrence"
    after = sorted(i["item_id"] for i in api.get("/api/plans/loa-1")["plan"]["items"])
    assert key not in after and set(after) == set(keys) - {key}
    assert "broadcast_occurrence_cancelled" in _audit_actions(ctl)
    week = to_local(second).date().isoformat()
    rows = api.get(f"/api/audit/logbook?week={week}")["rows"]
    assert "Đã hủy" in {r["status"] for r in rows}, rows


def test_the_approval_queue_is_ordered_by_air_time_and_carries_length_and_dates(system):
    ctl = system.controller()
    api, _ = setup(ctl, {"loa-1": "thon-a"})
    b = bulletin(api, title="Tin sau")
    late = schedule(api, b["id"], utcnow() + timedelta(hours=5), approved=False)
    soon = schedule(api, b["id"], utcnow() + timedelta(hours=2), approved=False)
    queue = api.approver.get("/api/approvals")
    assert [q["id"] for q in queue] == [soon["id"], late["id"]]
    facts = queue[0]["facts"]
    assert facts["occurrences"]["count"] == 1 and len(facts["occurrences"]["dates"]) == 1
    assert 0 <= facts["length"]["minutes"] < 1 and facts["length"]["limit_minutes"] == 15.0
    assert facts["length"]["over_limit"] is False


def test_an_editor_cancels_only_what_they_scheduled_an_approver_anything_of_their_area(system):
    ctl = system.controller(guardrails_toml='quiet_start = "00:00"\nquiet_end = "00:00"\n')
    api, _ = setup(ctl, {"loa-1": "thon-a"})
    first, second = ctl.user_api("bien-tap-1", "editor", "xa"), ctl.user_api("bien-tap-2", "editor", "xa")
    b = first.post("/api/bulletins", {"title": "", "text": "Thông báo ngắn."})
    bc = first.post("/api/broadcasts", {"bulletin_id": b["id"], "targets": ["xa"],
                                        "rule": daily_rule(utcnow() + timedelta(hours=2), 3)})
    for path, body in ((f"/api/broadcasts/{bc['id']}/cancel", {}),
                       (f"/api/broadcasts/{bc['id']}/occurrences/cancel",
                        {"at": bc["starts_at"], "reason": "Không phải lịch của tôi"})):
        with pytest.raises(ApiError) as err:
            second.post(path, body)
        assert err.value.status == 403
    assert api.approver.post(f"/api/broadcasts/{bc['id']}/occurrences/cancel",
                             {"at": bc["starts_at"], "reason": "Trùng lịch họp"})["status"] == "pending_approval"
    assert first.post(f"/api/broadcasts/{bc['id']}/cancel", {})["status"] == "cancelled"
