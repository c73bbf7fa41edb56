"""The map in real headless Chromium: clusters over the units' boundaries, coloured by status, click-through,
and units picked on the map as emergency targets. No tile source: nothing is fetched from the internet."""

from __future__ import annotations

import re

import pytest

from support.browser import PHONE
from support.harness import wait_for
from support.web_commune import PASSWORD, setup_commune

pytestmark = pytest.mark.browser


def box(unit_id: str, lon: float, lat: float, size: float) -> dict:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Feature", "properties": {"unit_id": unit_id}, "geometry": {"type": "Polygon", "coordinates": [ring]}}


GEOJSON = {"type": "FeatureCollection", "features": [
    box("xa", 105.80, 21.00, 0.10), box("thon-a", 105.80, 21.00, 0.05), box("thon-b", 105.85, 21.05, 0.05),
    box("thon-c", 105.95, 21.00, 0.04)]}


def test_clusters_show_their_status_colours_over_the_boundaries_and_open_their_page(system, sessions):
    commune = setup_commune(system, agents=("loa-1", "loa-2"))
    api = commune.ctl.api
    api.post("/api/alerts/geography", GEOJSON)
    assert api.request("PUT", "/api/devices/loa-1/location", {"lat": 21.01, "lon": 105.81})["lat"] == 21.01
    commune.agents[1].stop()  # loa-2 goes silent: offline; loa-3 was never connected
    wait_for(lambda: not api.get("/api/devices/loa-2")["online"], timeout=30, what="loa-2 offline")

    data = api.get("/api/map")
    clusters = {f["properties"]["device_id"]: f for f in data["features"] if f["properties"]["layer"] == "device"}
    assert clusters["loa-1"]["geometry"]["coordinates"] == [105.81, 21.01]
    assert clusters["loa-2"]["properties"]["placed"] == "unit"  # no coordinates yet: drawn in its village
    assert clusters["loa-2"]["geometry"]["coordinates"] == pytest.approx([105.875, 21.075])
    assert {k: c["properties"]["status"] for k, c in clusters.items()} == {
        "loa-1": "online", "loa-2": "offline", "loa-3": "never"}
    assert data["tiles"]["url"] == ""

    admin = sessions(commune.ctl.url, "chutich", PASSWORD, PHONE)
    page = admin.page
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    admin.go("/map")
    page.wait_for_selector("#map[data-ready=true]")
    colours = {d: page.get_attribute(f'path.device-marker[data-device="{d}"]', "fill") for d in ("loa-1", "loa-2")}
    assert colours == {"loa-1": "#1a7f37", "loa-2": "#c62828"}
    assert page.locator('path.device-marker[data-device="loa-3"]').count() == 0, "commune B is not the leader's"
    assert page.locator('path.unit-area[data-unit="thon-a"]').count() == 1
    assert "Mất kết nối" in page.inner_text('#map-clusters tr[data-device="loa-2"]')
    assert admin.overflow() == 0 and admin.errors == []
    assert all(u.startswith(commune.ctl.url) for u in requests), "no tile or CDN request leaves the controller"
    admin.shot("map")
    page.locator('path.device-marker[data-device="loa-1"]').click()
    page.wait_for_url(re.compile(r".*/devices/loa-1$"))

    admin.go("/emergency")
    page.wait_for_selector("#emergency-map[data-ready=true]")
    area = page.locator('#emergency-map path.unit-area[data-unit="thon-b"]')
    area.click()
    assert page.is_checked('#em-targets input[value="thon-b"]')
    wait_for(lambda: "selected" in (area.get_attribute("class") or ""), timeout=5, what="the picked area is marked")
    area.click()
    assert not page.is_checked('#em-targets input[value="thon-b"]')
    assert admin.errors == []


def test_map_input_is_checked_in_vietnamese(system):
    commune = setup_commune(system)
    api = commune.ctl.api
    from controller.cli_http.client import ApiError

    with pytest.raises(ApiError) as bad:
        api.request("PUT", "/api/devices/loa-1/location", {"lat": 95, "lon": 105.8})
    assert bad.value.status == 400 and "Vĩ độ phải từ -90 đến 90" in str(bad.value)
    with pytest.raises(ApiError) as bad:
        api.request("PUT", "/api/devices/loa-1/location", {"lat": "21,0", "lon": "abc"})
    assert bad.value.status == 400 and "Kinh độ 'abc' không phải số" in str(bad.value)
    assert api.request("PUT", "/api/devices/loa-1/location", {"lat": "21,02", "lon": "105,8"})["lat"] == 21.02
    assert api.request("PUT", "/api/devices/loa-1/location", {"lat": None, "lon": None})["lat"] is None
    with commune.ctl.db() as conn:
        assert conn.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'device_located'").fetchone()[0] == 2


def test_the_bell_counts_unread_notices_lists_them_and_marks_them_read(system, sessions):
    from datetime import timedelta

    from support.web_commune import local_now, sign_in

    commune = setup_commune(system)
    url = commune.ctl.url
    editor = sign_in(url, "canbo")
    b = editor.post(url + "/api/bulletins", json={"title": "Họp dân", "text": "Mời bà con họp dân."}, timeout=120).json()
    at = (local_now() + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")  # far from the pinned quiet hours
    r = editor.post(url + "/api/broadcasts", json={"bulletin_id": b["id"], "starts_at": at, "targets": ["xa"]}, timeout=60)
    assert r.status_code == 201 and r.json()["status"] == "pending_approval", r.text

    leader = sessions(url, "chutich", PASSWORD, PHONE)
    page = leader.page
    assert page.inner_text("#bell .count") == "1"
    page.click("#bell")
    page.wait_for_url(re.compile(r".*/notifications$"))
    item = page.locator("li.notification.unread").first
    assert "Chờ duyệt: Họp dân" in item.inner_text() and "chưa đọc" in item.inner_text()
    leader.shot("notifications")
    item.locator("button", has_text="Đánh dấu đã đọc").click()
    page.wait_for_selector("li.notification.unread", state="detached")
    assert page.locator("#bell .count").count() == 0 and leader.overflow() == 0 and leader.errors == []
    page.click("li.notification a")
    page.wait_for_url(re.compile(r".*/approvals$"))
