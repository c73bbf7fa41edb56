"""Relay programmes take the bulletins' path: rule, targets, approval, guardrails, calendar, plans.

The last test runs it end to end on real parts: the controller's own Icecast, an HLS source
made by ffmpeg, the signed stream item the planner emits, and two agents with the file sink
that air the slot on time and stop at its end while the source goes on.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from controller.devtools.broker_runner import free_port
from controller.reports.logbook import occurrences
from loaxa.local_time import to_local
from loaxa.protocol import EventBatch, PlaybackEvent, PlayItem
from loaxa.wire_time import format_time, utcnow
from support.agent_rig import ConductorRig
from support.browser import ServedApp, Session, chromium, wait_js
from support.harness import wait_for
from support.stream_rig import HlsSource, dominant_hz
from support.world import PASSWORD, make_world

HLS_URL = "http://127.0.0.1:9/live.m3u8"


def _source(w, url: str = HLS_URL) -> None:
    r = w.call("root", "POST", "/api/relay-sources", {"id": "vov1", "name": "VOV1", "url": url, "kind": "hls"})
    assert r.status_code == 201, r.get_json()


def test_a_daily_relay_is_scheduled_approved_and_shown_like_a_bulletin(tmp_path: Path):
    w = make_world(tmp_path / "ctl")
    try:
        _source(w)
        day = to_local(utcnow()) + timedelta(days=1)
        until = day + timedelta(days=6)
        rule = f"từ ngày {day:%d/%m} đến ngày {until:%d/%m/%Y}, 6 giờ"
        r = w.call("editor", "POST", "/api/relays", {"source_id": "vov1", "rule_text": rule, "duration_min": 30,
                                                     "targets": ["xa-a"]})
        assert r.status_code == 201, r.get_json()
        bc = r.get_json()
        assert bc["status"] == "pending_approval" and bc["relay"]["title"] == "Tiếp sóng VOV1"
        assert bc["relay"]["duration_s"] == 1800
        audit = w.controller.audit
        assert audit.entries(action="relay_programme_added")[0].actor == "editor-a"
        assert w.call("approver", "POST", f"/api/broadcasts/{bc['id']}/approve", {}).status_code == 200

        week = w.call("editor", "GET", f"/api/calendar?unit=xa-a&day={day:%Y-%m-%d}").get_json()
        shown = [e for d in week["days"] for e in d["entries"] if e["id"] == bc["id"]]
        assert shown and all(e["time"] == "06:00" and e["title"] == "Tiếp sóng VOV1" for e in shown)

        # the planner lays the slot out as a stream item of 30 minutes (no address: streaming is off here)
        plans = w.controller.dispatcher.build(utcnow())
        assert not plans.plans["loa-a"].items
        windows = plans.relay_windows()
        assert windows and windows[0].source_id == "vov1"
        assert windows[0].end - windows[0].start == timedelta(minutes=30)
        assert to_local(windows[0].start).strftime("%H:%M") == "06:00"
    finally:
        w.controller.stop()


def test_guardrails_count_relay_minutes_and_keep_quiet_hours(tmp_path: Path):
    w = make_world(tmp_path / "ctl", schedules_quiet_start="22:00", schedules_quiet_end="05:00")
    try:
        _source(w)
        day = to_local(utcnow()) + timedelta(days=1)
        too_long = w.call("editor", "POST", "/api/relays", {"source_id": "vov1", "starts_at": f"{day:%Y-%m-%d} 10:00",
                                                            "duration_min": 60, "targets": ["xa-a"]})
        assert too_long.status_code in (400, 409), too_long.get_json()
        assert "phút" in too_long.get_json()["error"]
        night = w.call("editor", "POST", "/api/relays", {"source_id": "vov1", "starts_at": f"{day:%Y-%m-%d} 23:00",
                                                         "duration_min": 20, "targets": ["xa-a"]})
        assert night.status_code in (400, 409), night.get_json()
        for bad, field in (({"duration_min": "ba mươi"}, "duration_min"), ({"duration_min": 0}, "duration_min"),
                           ({"source_id": "khong-co"}, None)):
            body = {"source_id": "vov1", "starts_at": f"{day:%Y-%m-%d} 10:00", "duration_min": 20,
                    "targets": ["xa-a"], **bad}
            r = w.call("editor", "POST", "/api/relays", body)
            assert 400 <= r.status_code < 500 and r.get_json()["error"], (bad, r.get_json())
        # nothing refused was kept: no relay bulletin, no broadcast, no audit entry
        assert not [b for b in w.controller.bulletins.list() if b.relay_source_id]
        assert not w.controller.broadcasts.list()
        assert not w.controller.audit.entries(action="relay_programme_added")
        assert w.call("auditor", "POST", "/api/relays", {"source_id": "vov1", "duration_min": 20,
                                                         "targets": ["xa-a"]}).status_code == 403
    finally:
        w.controller.stop()


def _chunks(rig: ConductorRig) -> list[dict]:
    path = rig.root / "sink" / "chunks.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def _report(c, device: str, rig: ConductorRig, extra: tuple[tuple[str, dict], ...] = ()) -> None:
    """The rig's events as the agent's outbox sends them, into the controller's ingest."""
    events = []
    for seq, (kind, item, fields) in enumerate([*rig.events, *[(k, rig.items[0], f) for k, f in extra]], start=1):
        actual = fields.get("actual_start")
        events.append(PlaybackEvent(
            seq=seq, kind=kind, recorded_at=utcnow(), item_id=item.item_id if item else "",
            broadcast_id=item.broadcast_id if item else "", planned_at=item.start if item else None,
            actual_start=datetime.fromtimestamp(actual, tz=timezone.utc) if actual else None,
            duration_s=fields.get("duration_s"), reason=fields.get("reason") or ""))
    c.ingest.on_events(device, EventBatch(device_id=device, epoch="e1", events=tuple(events)))


def test_the_controller_restreams_a_scheduled_relay_and_agents_air_exactly_its_slot(tmp_path: Path):
    icecast_dir = Path(tempfile.mkdtemp(prefix="loaxa-icecast-"))  # reachable by Icecast's own account
    w = make_world(tmp_path / "ctl", streaming_enabled="true", streaming_port=str(free_port()),
                   streaming_config_dir=str(icecast_dir / "icecast"))
    c = w.controller
    c.registry.add_device("loa-a2", "Cụm loa A2", "thon-a")
    hls = HlsSource(tmp_path / "hls", freq=600).start()
    rigs: list[ConductorRig] = []
    try:
        c.streaming.start()
        wait_for(lambda: (tmp_path / "hls" / "live.m3u8").exists(), timeout=10, what="the HLS playlist")
        _source(w, hls.url)
        start = (utcnow() + timedelta(seconds=8)).replace(microsecond=0)  # the steps before it take about 2 s
        r = w.call("editor", "POST", "/api/relays", {"source_id": "vov1", "starts_at": format_time(start),
                                                     "duration_s": 10, "targets": ["xa-a"]})
        assert r.status_code == 201, r.get_json()
        assert c.streaming.relay("vov1") is None  # not on air before it is approved
        assert w.call("approver", "POST", f"/api/broadcasts/{r.get_json()['id']}/approve", {}).status_code == 200
        restreamer = wait_for(lambda: c.streaming.relay("vov1"), timeout=5, what="the restream of the approved slot")

        plans = c.dispatcher.build(utcnow())
        for device in ("loa-a", "loa-a2"):
            (item,) = plans.plans[device].items
            item = PlayItem.from_dict(item.to_dict())  # what the signed plan carries
            assert item.stream is not None and item.stream.url.endswith("/relay-vov1.ogg")
            assert item.stream.username == f"d-{device}" and item.start == start and item.duration_s == 10
            rig = ConductorRig(tmp_path / device)
            rig.items = (item,)
            rigs.append(rig)
            rig.start()
        assert not plans.plans["loa-b"].items  # another commune's pole
        usernames = {p.items[0].stream.username for d, p in plans.plans.items() if p.items}
        assert len(usernames) == 2  # each device has its own account

        for rig in rigs:
            wait_for(lambda: rig.kinds("stream_finished") or rig.kinds("failed"), timeout=40, what="the relay's end")
        end = start.timestamp() + 10
        for rig in rigs:
            (_, started), = rig.kinds("stream_started")
            assert started["actual_start"] >= start.timestamp() - 0.005
            (_, finished), = rig.kinds("stream_finished")
            assert 5 < finished["duration_s"] <= 10.05
            pcm = (rig.root / "sink" / f"stream-{rig.items[0].item_id}.pcm").read_bytes()
            assert abs(dominant_hz(pcm[-48000:]) - 600) < 15
            last = _chunks(rig)[-1]
            assert last["at"] + last["samples"] / 48000 <= end + 0.1  # the slot's end, though VOV goes on
        # the restream ends with its slot as well
        wait_for(lambda: c.streaming.relay("vov1") is None, timeout=10, what="the restream to stop after the slot")
        wait_for(lambda: not restreamer.encoder_alive, timeout=10, what="the encoder of the slot to stop")

        # the logbook counts the stream events: aired, with the seconds a gap lost in the note
        _report(c, "loa-a", rigs[0])
        _report(c, "loa-a2", rigs[1], (("stream_gap", {"duration_s": 2.4}),))
        later = utcnow() + timedelta(minutes=2)
        occ = {o.device_id: o for o in occurrences(c.db, c.guardrails.policy(), ["loa-a", "loa-a2"],
                                                   start - timedelta(minutes=5), later, now=later)}
        assert occ["loa-a"].status == occ["loa-a2"].status == "finished"
        assert occ["loa-a"].title == "Tiếp sóng VOV1" and occ["loa-a"].actual_start
        assert 5 < occ["loa-a"].duration_s <= 10.05
        assert occ["loa-a2"].reason == "Mất tín hiệu 2 giây" and not occ["loa-a"].reason
    finally:
        for rig in rigs:
            rig.close()
        hls.close()
        c.stop()
        c.streaming.stop()
        shutil.rmtree(icecast_dir, ignore_errors=True)


def test_an_editor_schedules_a_daily_relay_on_the_tiep_song_page_in_chromium(tmp_path: Path):
    w = make_world(tmp_path / "ctl")
    _source(w)
    served = ServedApp(w.app)
    try:
        with chromium() as browser:
            s = Session(browser, served.url, "editor-a", PASSWORD)
            s.go("/relays")
            day = to_local(utcnow()) + timedelta(days=1)
            daily = f"từ ngày {day:%d/%m} đến ngày {day + timedelta(days=6):%d/%m/%Y}, 6 giờ"
            s.page.fill("#relay-rule", daily)
            s.page.check('#relay-targets input[value="xa-a"]')
            s.shot("relays")  # the operator guide's picture
            s.page.fill("#relay-rule", "")
            s.page.click("#relay-form button[type=submit]")
            wait_js(s.page, "document.querySelector('[data-error-for=rule]').textContent.length > 0")
            assert "lịch phát" in s.page.text_content('[data-error-for="rule"]')  # nothing stored, said why
            s.page.fill("#relay-rule", daily)
            s.page.fill("#relay-minutes", "30")
            s.page.click("#relay-form button[type=submit]")
            s.page.wait_for_url("**/calendar")
            assert not s.errors
        (bc,) = w.controller.broadcasts.list()
        assert bc.status == "pending_approval" and bc.targets == ("xa-a",)
        (relay,) = [b for b in w.controller.bulletins.list() if b.relay_source_id]
        assert relay.relay_duration_s == 1800 and relay.title == "Tiếp sóng VOV1"
    finally:
        served.close()
        w.controller.stop()


def test_a_controller_restarted_mid_relay_restreams_the_slot_again_and_the_agents_rejoin(tmp_path: Path):
    from support.world import make_controller

    icecast_dir = Path(tempfile.mkdtemp(prefix="loaxa-icecast-"))
    env = {"streaming_enabled": "true", "streaming_port": str(free_port()),
           "streaming_config_dir": str(icecast_dir / "icecast")}
    w = make_world(tmp_path / "ctl", plans_auto_approve="true", **env)
    c = w.controller
    hls = HlsSource(tmp_path / "hls", freq=600).start()
    rig = ConductorRig(tmp_path / "loa-a")
    c2 = None
    try:
        c.streaming.start()
        wait_for(lambda: (tmp_path / "hls" / "live.m3u8").exists(), timeout=10, what="the HLS playlist")
        _source(w, hls.url)
        start = (utcnow() + timedelta(seconds=8)).replace(microsecond=0)
        # 3 s aired, the restart (a gap of about 3 s), then more than 10 s after it
        r = w.call("root", "POST", "/api/relays", {"source_id": "vov1", "starts_at": format_time(start),
                                                   "duration_s": 20, "targets": ["thon-a"]})
        assert r.status_code == 201 and r.get_json()["status"] == "approved", r.get_json()
        (item,) = c.dispatcher.build(utcnow()).plans["loa-a"].items
        rig.items = (PlayItem.from_dict(item.to_dict()),)
        rig.start()
        wait_for(lambda: rig.kinds("stream_started"), timeout=30, what="the relay on air")
        wait_for(lambda: len(_chunks(rig)) >= 6, timeout=15, what="three seconds aired")

        c.stop()  # the controller goes down mid-relay: its Icecast and restreamer with it
        c.streaming.stop()
        c2 = make_controller(tmp_path / "ctl", **env)
        c2.streaming.start()
        c2.jobs.rebuild()  # its first plan build hands the open slot to streaming again
        wait_for(lambda: c2.streaming.relay("vov1"), timeout=10, what="the slot restreamed by the new controller")

        wait_for(lambda: rig.kinds("stream_finished") or rig.kinds("failed"), timeout=40, what="the relay's end")
        (_, finished), = rig.kinds("stream_finished")
        gaps = [f["duration_s"] for _, f in rig.kinds("stream_gap")]
        assert gaps, "the restart is logged as a gap"
        assert finished["duration_s"] + sum(gaps) <= 20.5
        assert finished["duration_s"] > 10  # it went on after the restart
        pcm = (rig.root / "sink" / f"stream-{item.item_id}.pcm").read_bytes()
        assert abs(dominant_hz(pcm[-96000:]) - 600) < 15
        last = _chunks(rig)[-1]
        assert last["at"] + last["samples"] / 48000 <= start.timestamp() + 20 + 0.1
    finally:
        rig.close()
        hls.close()
        for ctl in (c2,):
            if ctl is not None:
                ctl.streaming.stop()
                ctl.stop()
        shutil.rmtree(icecast_dir, ignore_errors=True)
