"""Editing the week in real headless Chromium: an editor's own work, the approval card's facts, a calendar
entry's detail page and cancelling one occurrence from it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from support.browser import DESKTOP, PHONE
from support.schedule_api import daily_rule
from support.web_commune import PASSWORD, local_now, setup_commune, sign_in

pytestmark = pytest.mark.browser


def _post(s, base: str, path: str, body: dict) -> dict:
    r = s.post(base + path, json=body, timeout=120)
    assert r.status_code in (200, 201), r.text
    return r.json()


def test_my_work_withdraw_approval_facts_and_cancelling_one_occurrence(system, sessions):
    commune = setup_commune(system)
    ctl = commune.ctl
    base = ctl.url
    editor_http, leader_http = sign_in(base, "canbo"), sign_in(base, "chutich")
    b = _post(editor_http, base, "/api/bulletins", {"title": "Lịch thu gom rác", "text": "Thông báo thu gom rác."})
    first = (local_now() + timedelta(minutes=20)).replace(second=0, microsecond=0)
    daily = _post(editor_http, base, "/api/broadcasts", {"bulletin_id": b["id"], "targets": ["xa"],
                                                           "rule": daily_rule(first, 3)})
    one_off = _post(editor_http, base, "/api/broadcasts", {"bulletin_id": b["id"], "targets": ["thon-a"],
                                                             "starts_at": (first + timedelta(minutes=30)).isoformat()})
    rejected = _post(editor_http, base, "/api/broadcasts", {"bulletin_id": b["id"], "targets": ["thon-b"],
                                                              "starts_at": (first + timedelta(minutes=50)).isoformat()})

    leader = sessions(base, "chutich", PASSWORD, DESKTOP)
    leader.go("/approvals")
    cards = leader.page.locator("article.card")
    assert [cards.nth(i).get_attribute("id") for i in range(cards.count())] == [daily["id"], one_off["id"], rejected["id"]]
    card = leader.page.locator(f"article#{daily['id']}")
    text = card.inner_text()
    assert "Cán bộ Văn hóa" in text, "the author's full name"
    assert "phút" in card.locator(".length").inner_text()
    assert card.locator(".occurrences").inner_text().startswith("3 buổi")
    assert f"{first:%H:%M %d/%m/%Y}" in card.locator(".occurrences").inner_text()
    leader.shot("approvals-facts")
    _post(leader_http, base, f"/api/broadcasts/{daily['id']}/approve", {"comment": "Đồng ý"})
    _post(leader_http, base, f"/api/broadcasts/{rejected['id']}/reject", {"comment": "Thôn B đã thông báo rồi"})

    editor = sessions(base, "canbo", PASSWORD, PHONE)
    page = editor.page
    page.on("dialog", lambda d: d.accept())
    editor.go("/my-work")
    assert daily["id"] in page.inner_text("#group-approved") or daily["id"] in page.inner_html("#group-approved")
    assert "Thôn B đã thông báo rồi" in page.inner_text("#group-rejected")
    assert "Chủ tịch Xã" in page.inner_text("#group-rejected")
    pending = page.locator(f"#group-pending_approval article#{one_off['id']}")
    assert pending.count() == 1
    editor.shot("my-work")
    assert editor.overflow() <= 0, "my work overflows at 390 px"
    pending.locator("button.withdraw").click()
    page.wait_for_selector(f"#group-draft article#{one_off['id']}")
    assert editor_http.get(f"{base}/api/broadcasts/{one_off['id']}", timeout=30).json()["status"] == "draft"

    leader.go("/calendar")
    leader.page.locator(f"a.slot-link[href$='/broadcasts/{daily['id']}']").first.click()
    leader.page.wait_for_selector("#detail")
    detail = leader.page.inner_text("#detail")
    assert "Đã duyệt" in detail and "Chủ tịch Xã" in detail and "Kết thúc" in detail
    assert leader.page.locator("#device-states tbody tr").count() == 2
    leader.page.on("dialog", lambda d: d.accept())
    second = leader.page.locator("#occ-at option").nth(1)
    at = second.get_attribute("value")
    leader.page.select_option("#occ-at", at)
    leader.page.fill("#occ-reason", "Trùng họp thôn")
    leader.page.click("#cancel-occurrence button[type=submit]")
    leader.page.wait_for_selector(".cancelled-occurrences")
    leader.shot("broadcast-detail")
    plan = ctl.api.get("/api/plans/loa-1")["plan"]["items"]
    starts = {i["start"][:16] for i in plan if i["broadcast_id"] == daily["id"]}
    assert at[:16] not in starts and len(starts) >= 1
    assert not leader.errors and not editor.errors
