"""A device downloads only media addressed to it: its broadcasts (Opus and MP3), its emergencies, the test tone.

In process: a real controller (not started; MQTT commands are signed, then dropped), real
SQLite, real espeak-ng renders with their MP3 fallback, the Flask test client.
"""

from __future__ import annotations

import base64
import logging
import re
import sqlite3
from datetime import timedelta

import pytest

from controller.config import ControllerConfig
from controller.plans import Broadcast, Bulletin, BulletinMedia
from controller.service import Controller
from support.harness import wait_for
from support.tree import seed_registry
from loaxa.config import load_config
from loaxa.wire_time import format_time, utcnow
from web.app import create_app

ENV = {"LOAXA_AUDIO_ENGINE": "espeak", "LOAXA_MQTT_PORT": "9", "LOAXA_SCHEDULES_QUIET_START": "00:00",
       "LOAXA_SCHEDULES_QUIET_END": "00:00", "LOAXA_PLANS_AUTO_APPROVE": "true"}


class Province:
    """Commune A (thon-a: loa-a) and commune B (thon-b: loa-b), each pole with broker credentials."""

    def __init__(self, controller: Controller):
        self.c = controller
        self.app = create_app(controller, {"TESTING": True})
        self.auth: dict[str, dict[str, str]] = {}

    def enroll(self, device_id: str, unit_id: str) -> None:
        self.c.registry.add_device(device_id, f"Cụm loa {device_id}", unit_id)
        user, password = self.c.security.credentials.issue_device(device_id)
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.auth[device_id] = {"Authorization": f"Basic {token}"}

    def fetch(self, device_id: str | None, sha256: str, ext: str = "ogg"):
        headers = self.auth[device_id] if device_id else {}
        return self.app.test_client().get(f"/media/{sha256}.{ext}", headers=headers)

    def status(self, device_id: str, media: BulletinMedia) -> tuple[int, int]:
        """HTTP status of the Opus file and of its MP3 fallback."""
        return (self.fetch(device_id, media.sha256).status_code,
                self.fetch(device_id, media.mp3_sha256, "mp3").status_code)

    def schedule(self, bulletin: Bulletin, targets: list[str], **spec) -> Broadcast:
        start = format_time(utcnow() + timedelta(minutes=5))
        return self.c.broadcasts.schedule(bulletin.id, start, targets, created_by="canbo", **spec)


def _page(body: bytes) -> bytes:
    """An error page without its per-session form token."""
    return re.sub(rb'name="csrf-token" content="[^"]*"', b"", body)


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    data = tmp_path_factory.mktemp("scope")
    c = Controller(load_config(ControllerConfig, env={"LOAXA_DATA_DIR": str(data), **ENV}))
    assert c.config.security.media_requires_auth  # the shipped default
    seed_registry(c.registry, devices=False)
    p = Province(c)
    p.enroll("loa-a", "thon-a")
    p.enroll("loa-b", "thon-b")
    p.bulletin_a = c.bulletins.add("Tin xã A", "Xã A thông báo lịch tiêm phòng.", "canbo")
    p.bulletin_b = c.bulletins.add("Tin xã B", "Xã B thông báo họp dân.", "canbo")
    p.schedule(p.bulletin_a, ["xa-a"])
    p.schedule(p.bulletin_b, ["thon-b"])
    yield p
    c.stop()


def test_a_device_fetches_its_broadcasts_opus_and_mp3_and_gets_404_for_another_communes(province, caplog):
    a, b = province.bulletin_a.media, province.bulletin_b.media
    assert a.mp3_sha256 and b.mp3_sha256  # renders keep an MP3 fallback
    assert province.status("loa-a", a) == (200, 200)
    assert province.status("loa-b", b) == (200, 200)
    ok = province.fetch("loa-a", a.sha256)
    assert ok.mimetype == "audio/ogg" and len(ok.data) == a.size

    with caplog.at_level(logging.INFO, logger="controller.devices.media_access"):
        assert province.status("loa-b", a) == (404, 404)  # valid credentials, not its media
        assert province.status("loa-a", b) == (404, 404)
    refusals = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(refusals) == 4
    assert f"media {a.sha256[:12]}… refused" in refusals[0] and "device loa-b" in refusals[0]

    unknown = province.fetch("loa-b", "0" * 64)
    refused = province.fetch("loa-b", a.sha256)
    assert unknown.status_code == refused.status_code == 404
    assert _page(unknown.data) == _page(refused.data)  # nothing to probe
    assert province.fetch(None, a.sha256).status_code == 401
    metrics = province.c.metrics.exposition().decode()
    denied = next(line for line in metrics.splitlines() if line.startswith("loaxa_media_downloads_denied"))
    assert float(denied.split()[-1]) >= 5


def test_drafts_open_nothing_while_cancelled_broadcasts_still_do(province):
    c = province.c
    bulletin = c.bulletins.add("Tin nháp", "Bản nháp chưa gửi đi đâu.", "canbo")
    draft = province.schedule(bulletin, ["loa-b"], draft=True)
    assert draft.status == "draft"
    assert province.status("loa-b", bulletin.media) == (404, 404)  # never sent to anyone

    sent = province.schedule(bulletin, ["thon-b"])
    assert sent.status == "approved"
    assert province.status("loa-b", bulletin.media) == (200, 200)
    c.broadcasts.cancel(sent.id, by="canbo")
    assert province.status("loa-b", bulletin.media) == (200, 200)  # a retry after a cancellation race
    assert province.status("loa-a", bulletin.media) == (404, 404)


def test_a_pole_added_after_scheduling_fetches_what_its_plan_names(province):
    c = province.c
    province.enroll("loa-a2", "thon-a")  # after bulletin A was scheduled for xa-a
    plan = c.dispatcher.build(device_ids=["loa-a2"]).plans["loa-a2"]
    media = province.bulletin_a.media
    assert [i.sha256 for i in plan.items] == [media.sha256]
    assert province.status("loa-a2", media) == (200, 200)
    assert province.status("loa-a2", province.bulletin_b.media) == (404, 404)


def test_emergency_media_reaches_the_devices_it_was_sent_to(province):
    c = province.c
    sent = c.emergencies.trigger(["xa-b"], "Chủ tịch Xã B", text="Khẩn cấp. Nước lũ đang lên.", reason="lũ")
    assert sent.devices == ("loa-b",)
    media = c.bulletins.get(sent.bulletin_id).media
    assert media.sha256 == sent.sha256
    assert province.status("loa-b", media) == (200, 200)
    assert province.status("loa-a", media) == (404, 404)


def test_the_test_tone_reaches_the_device_it_is_sent_to(province):
    c = province.c
    c.users.add("kythuat", "mat-khau-ky-thuat", "editor", "tinh")
    token = c.users.create_token("kythuat")
    sent = province.app.test_client().post("/api/devices/loa-a/test-tone", headers={"Authorization": f"Bearer {token}"})
    assert sent.status_code == 200
    with c.db.tx() as db:
        tone = db.execute("SELECT sha256 FROM media WHERE engine = 'test_tone'").fetchone()[0]
    assert province.fetch("loa-a", tone).status_code == 200
    assert province.fetch("loa-b", tone).status_code == 200  # one shared sine wave: no content to protect
    assert province.fetch(None, tone).status_code == 401


def test_without_media_auth_any_known_file_is_served_as_before(tmp_path):
    env = {"LOAXA_DATA_DIR": str(tmp_path), "LOAXA_SECURITY_MEDIA_REQUIRES_AUTH": "false", **ENV}
    c = Controller(load_config(ControllerConfig, env=env))
    try:
        media = c.bulletins.add("Tin", "Thông báo ngắn.", "canbo").media  # no broadcast anywhere
        client = create_app(c, {"TESTING": True}).test_client()
        assert client.get(f"/media/{media.sha256}.ogg").status_code == 200
        assert client.get(f"/media/{media.mp3_sha256}.mp3").status_code == 200
        assert client.get(f"/media/{'0' * 64}.ogg").status_code == 404
    finally:
        c.stop()


def test_an_enrolled_pole_plays_an_emergency_and_the_test_tone_with_media_auth_on(secure):
    """Through the secured broker and HTTP, with the credentials enrollment gave the agent."""
    ctl, agent, _code = secure.commune_with_pole("loa-1")
    api = ctl.api

    def has_plan() -> bool:
        try:
            with agent.db() as conn:
                return conn.execute("SELECT 1 FROM plan WHERE id = 1").fetchone() is not None
        except sqlite3.OperationalError:
            return False

    wait_for(has_plan, timeout=30, what="the enrolled agent holds its plan (and so its group topics)")
    em = api.post("/api/emergency", {"targets": ["xa"], "text": "Khẩn cấp. Diễn tập.", "reason": "diễn tập"})
    played = wait_for(lambda: [p for p in agent.plays() if p.get("broadcast_id") == em["broadcast_id"]], timeout=30,
                      what="the emergency plays")
    assert played[0]["sha256"] == em["sha256"]

    tone = api.post("/api/devices/loa-1/test-tone", {"confirm": True})  # it may cut the emergency still airing
    wait_for(lambda: [p for p in agent.plays() if p.get("item_id") == tone["item_id"]], timeout=30,
             what="the test tone plays")
