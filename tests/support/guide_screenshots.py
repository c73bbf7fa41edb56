"""The operator guide's pictures: every page of docs/vi/huong-dan-van-hanh.md, at phone and desktop width.

Starts the demo commune (its units, poles, map and people) on the test harness: a real
mosquitto, the controller and three real agents with file sinks, then fills a working week:
a bulletin that aired, a daily programme, one waiting for approval, one rejected with the
leader's comment, a volume change. Each page is captured by headless Chromium as the person
who uses it, at 390 px and 1280 px, and written as a palette PNG (small enough for the
repository) to docs/vi/img/<page>-phone.png and <page>-desktop.png.

    PYTHONPATH=$PWD:$PWD/tests .venv/bin/python -m support.guide_screenshots [--out DIR]

Pictures of particular moments (an emergency not reached, a broker lost, a refused slot...)
come from the browser tests that stage them (``Session.shot``, under test-artifacts/screenshots);
``--with-test-shots`` copies those present there too (the live session and the relay sources
under their own names, beside the plain live and relay pages).
"""

from __future__ import annotations

import argparse
import io
import logging
import shutil
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from controller.devtools.broker_runner import Broker
from controller.devtools.demo import DEVICES, place_devices, seed
from support.browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE, SCREENSHOTS, Session
from support.harness import ROOT, System, wait_for
from support.schedule_api import daily_rule, soon
from support.web_commune import local_now, sign_in
from loaxa.wire_time import format_time

log = logging.getLogger(__name__)

OUT = ROOT / "docs" / "vi" / "img"
PASSWORD = "mat-khau-anh-chup"
COMMUNE = "xa-tan-lap"
PEOPLE = {"quantri": ("admin", None, "Quản trị viên"), "canbo": ("editor", COMMUNE, "Nguyễn Thị Lan"),
          "chutich": ("approver", COMMUNE, "Trần Văn Hùng"), "kiemtra": ("auditor", "tinh-demo", "Lê Minh Tuấn")}
NEVER_CONNECTED = ("loa-ben-do", "Cụm loa bến đò", "thon-tay")
MAX_HEIGHT = 2400  # CSS pixels of a long page kept in the picture
COLOURS = 128


@dataclass(frozen=True)
class Shot:
    """One page as one person sees it; ``name`` is the picture's file name without width and extension."""

    name: str
    path: str
    who: str | None


def _week(ctl) -> str:
    """Fill the commune's week; the id of the broadcast that aired (its detail page is in the guide)."""
    api = ctl.api
    editor, leader = sign_in(ctl.url, "canbo", PASSWORD), sign_in(ctl.url, "chutich", PASSWORD)

    def post(session, path: str, body: dict) -> dict:
        r = session.post(ctl.url + path, json=body, timeout=120)
        assert r.status_code in (200, 201), (path, r.text)
        return r.json()

    def broadcast(title: str, text: str, **when) -> dict:
        b = post(editor, "/api/bulletins", {"title": title, "text": text})
        return post(editor, "/api/broadcasts", {"bulletin_id": b["id"], "targets": [COMMUNE], **when})

    aired = broadcast("Lịch tiêm phòng cho trẻ em",
                      "Sáng thứ Bảy, trạm y tế xã tiêm phòng cho trẻ em dưới năm tuổi. Đề nghị phụ huynh đưa con đến đúng giờ.",
                      starts_at=format_time(soon(25)))
    post(leader, f"/api/broadcasts/{aired['id']}/approve", {"comment": "Đồng ý phát"})
    first = local_now().replace(hour=6, minute=30, second=0, microsecond=0) + timedelta(days=1)
    daily = broadcast("Bản tin nông nghiệp", "Bà con chú ý phòng trừ rầy nâu trên lúa xuân.", rule=daily_rule(first, 7))
    post(leader, f"/api/broadcasts/{daily['id']}/approve", {"comment": "Đồng ý, phát cả tuần"})
    broadcast("Thu thuế nhà đất", "Chiều thứ Năm, ủy ban xã thu thuế nhà đất tại hội trường.",
              starts_at=format_time(soon(2 * 86400)))
    rejected = broadcast("Họp dân thôn Đông", "Tối nay họp dân tại nhà văn hóa thôn Đông.", starts_at=format_time(soon(3 * 86400)))
    post(leader, f"/api/broadcasts/{rejected['id']}/reject", {"comment": "Ghi rõ giờ họp rồi gửi lại"})
    api.post("/api/devices/loa-dong-1/volume", {"volume": 70})
    wait_for(lambda: api.get(f"/api/playback?broadcast={aired['id']}&kind=finished"), timeout=180,
             what="the first bulletin aired")
    return aired["id"]


def shots(aired: str) -> list[Shot]:
    """The guide's pages in its order, each as the person its section speaks to."""
    return [Shot("login", "/login", None), Shot("dashboard", "/", "quantri"), Shot("notifications", "/notifications", "chutich"),
            Shot("compose", "/compose", "canbo"), Shot("approvals", "/approvals", "chutich"), Shot("my-work", "/my-work", "canbo"),
            Shot("emergency", "/emergency", "quantri"), Shot("alerts", "/alerts", "quantri"), Shot("live", "/live", "quantri"),
            Shot("map", "/map", "quantri"), Shot("calendar", "/calendar", "quantri"),
            Shot("broadcast-detail", f"/broadcasts/{aired}", "chutich"), Shot("guardrails", "/guardrails", "quantri"),
            Shot("relays", "/relays", "quantri"), Shot("devices", "/devices", "quantri"),
            Shot("devices-loa-dong-1", "/devices/loa-dong-1", "quantri"), Shot("admin", "/admin", "quantri"),
            Shot("dictionary", "/dictionary", "quantri"), Shot("audit", "/audit", "kiemtra"),
            Shot("audit-compliance", f"/audit/compliance?unit={COMMUNE}", "kiemtra"),
            Shot("audit-logbook", f"/audit/logbook?unit={COMMUNE}", "kiemtra"), Shot("audit-outages", "/audit/outages", "kiemtra"),
            Shot("audit-trail", "/audit/trail", "kiemtra"), Shot("fleet", "/fleet", "quantri")]


def small_png(png: bytes) -> bytes:
    """A screenshot as an adaptive-palette PNG: UI colours are few, so this is a fraction of the size."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=COLOURS, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def capture(browser, base_url: str, shot: Shot, viewport: dict, out: Path) -> Path:
    if shot.who is None:
        context = browser.new_context(viewport=viewport, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
        page = context.new_page()
    else:
        session = Session(browser, base_url, shot.who, PASSWORD, viewport)
        context, page = session.context, session.page
    try:
        response = page.goto(base_url + shot.path)
        assert response is not None and response.status == 200, (shot.path, response and response.status)
        page.wait_for_load_state("networkidle")
        height = min(page.evaluate("document.documentElement.scrollHeight"), MAX_HEIGHT)
        png = page.screenshot(full_page=True, clip={"x": 0, "y": 0, "width": viewport["width"], "height": height})
    finally:
        context.close()
    path = out / f"{shot.name}-{'phone' if viewport['width'] < 500 else 'desktop'}.png"
    path.write_bytes(small_png(png))
    return path


def take_all(out: Path, work: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    broker = Broker(work / "broker").start()
    system = System(work, broker)
    try:
        ctl = system.controller(extra_toml='[unit]\ncommune_name = "Tân Lập"\n')
        api = ctl.api
        seed(api)
        for device_id, name, unit in (*DEVICES, NEVER_CONNECTED):
            api.post("/api/devices", {"id": device_id, "name": name, "unit_id": unit})
        place_devices(api)
        for username, (role, unit, name) in PEOPLE.items():
            api.post("/api/users", {"username": username, "password": PASSWORD, "role": role, "unit_id": unit,
                                    "display_name": name})
        key = api.get("/api/pubkey")["public_key"]
        for device_id, _name, _unit in DEVICES:
            system.agent(device_id, key, ctl.url)
        wait_for(lambda: sum(d["online"] for d in api.get("/api/devices")) == len(DEVICES), timeout=60, what="agents online")
        aired = _week(ctl)
        out.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for shot in shots(aired):
                for viewport in (PHONE, DESKTOP):
                    written.append(capture(browser, ctl.url, shot, viewport, out))
                    log.info("%s", written[-1].name)
            browser.close()
        return written
    finally:
        system.close()
        broker.stop()


# Staged moments whose test names the same page as a plain shot here: kept under their own name.
STAGED_NAMES = {"live-desktop.png": "live-session-desktop.png", "relays-desktop.png": "relays-sources-desktop.png"}


def copy_test_shots(out: Path, taken: list[Path]) -> list[Path]:
    """The browser tests' pictures of staged moments, made palette PNGs like the others (a plain page
    taken here wins over a test's picture of the same name)."""
    plain = {p.name for p in taken}
    written = []
    for path in sorted(SCREENSHOTS.glob("*.png")) if SCREENSHOTS.is_dir() else []:
        name = STAGED_NAMES.get(path.name, path.name)
        if name in plain:
            continue
        target = out / name
        target.write_bytes(small_png(path.read_bytes()))
        written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--with-test-shots", action="store_true",
                        help="also copy the pictures the browser tests left under test-artifacts/screenshots")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    work = Path(tempfile.mkdtemp(prefix="loaxa-shots-"))
    try:
        written = take_all(args.out, work)
        if args.with_test_shots:
            written += copy_test_shots(args.out, written)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = sum(p.stat().st_size for p in written)
    log.info("%d pictures, %.1f MB in %s", len(written), total / 1e6, args.out)


if __name__ == "__main__":
    main()
