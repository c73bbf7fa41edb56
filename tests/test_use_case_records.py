"""The reports', streaming's and devices' use cases answer frozen records, never dictionaries: a caller
cannot change an answer by accident, a misspelt field fails where it is read, and ``to_dict`` is the
JSON the API has always answered."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from controller import devices, reports, streaming
from controller.devices import use_cases as device_cases
from controller.people.actor import Actor
from controller.reports import use_cases as report_cases
from controller.streaming import use_cases as stream_cases
from loaxa.local_time import to_local
from loaxa.protocol import DeviceState, EventBatch, PlaybackEvent
from loaxa.wire_time import utcnow
from support.world import World, make_world


@pytest.fixture
def world(tmp_path) -> World:
    w = make_world(tmp_path)
    yield w
    w.controller.stop()


def actor(w: World, username: str) -> Actor:
    user = w.controller.users.find(username)
    return Actor.of(user, w.controller.users.scope(user), "127.0.0.1")


def assert_frozen(value: Any, field: str) -> None:
    assert dataclasses.is_dataclass(value) and not isinstance(value, type), value
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, field, None)


def test_the_reports_answer_frozen_records(world):
    c = world.controller
    c.ingest.on_state("loa-a", DeviceState(device_id="loa-a", online=True))
    c.ingest.on_state("loa-a", DeviceState(device_id="loa-a", online=False))
    now = utcnow()
    c.ingest.on_events("loa-a", EventBatch(device_id="loa-a", epoch="e", events=(
        PlaybackEvent(seq=1, kind="skipped", recorded_at=now, item_id="x", reason="kill_switch"),)))
    root, today = actor(world, "root"), to_local(now).date()

    [row] = report_cases.playback_rows(c, root, today, today)
    assert isinstance(row, reports.PlaybackRow) and (row.device_name, row.kind, row.title) == ("Cụm loa A", "skipped", None)
    assert_frozen(row, "kind")
    assert row.to_dict()["reason"] == "kill_switch" and set(row.to_dict()) >= {"reason_label", "unit_name", "hash"}
    choices = report_cases.playback_filter_choices(c, root)
    assert isinstance(choices, reports.PlaybackFilterChoices) and {d.id for d in choices.devices} == {"loa-a", "loa-b"}
    assert_frozen(choices, "kinds")

    outages = report_cases.outage_report(c, root, today - timedelta(days=1), today, None)
    assert isinstance(outages, reports.OutageReport) and outages.timeline.startswith("<svg")
    assert_frozen(outages, "clusters")
    assert all(isinstance(r, reports.ClusterOutages) for r in outages.clusters)
    assert set(outages.to_dict()) == {"from", "to", "unit", "clusters"}

    trail = report_cases.audit_trail_report(c, root, today, today)
    assert isinstance(trail, reports.AuditTrailReport) and all(isinstance(r, reports.TrailRow) for r in trail.rows)
    assert all(isinstance(g, reports.ActionGroup) for g in trail.actions)
    assert_frozen(trail, "rows")
    assert set(trail.to_dict()) == {"from", "to", "actor", "action", "unit", "truncated", "rows"}

    compliance = report_cases.compliance_report(c, root, today, today, None)
    assert all(isinstance(g, reports.OfflineGroup) for g in compliance.offline)
    assert_frozen(compliance, "offline")
    checks = report_cases.verify_audit(c, root)
    assert checks and all(check.ok for check in checks)
    for check in checks:
        assert_frozen(check, "ok")


def test_relay_sources_as_an_actor_reads_them_are_frozen_records(world):
    c = world.controller
    url = "https://nghe:bimat@vov.example/live.m3u8"
    stream_cases.add_source(c, actor(world, "root"), {"id": "vov1", "name": "VOV1", "url": url, "kind": "hls"})
    for who, shown in (("root", url), ("editor-a", "https://nghe:•••@vov.example/live.m3u8")):
        [listed] = stream_cases.visible_sources(c, actor(world, who))
        one = stream_cases.visible_source(c, actor(world, who), "vov1")
        assert isinstance(listed, streaming.RelaySource) and listed == one and one.url == shown
        assert one.to_dict()["display_url"] == "https://nghe:•••@vov.example/live.m3u8"
        assert one.kind_vi == one.to_dict()["kind_vi"]
        assert_frozen(one, "url")
    c.streaming.sources.log_switch("vov1", "/relay-vov1.ogg", "primary", "fallback", "silence")
    [switch] = c.streaming.sources.switches("vov1")
    assert isinstance(switch, streaming.SourceSwitch) and (switch.from_input, switch.to_input) == ("primary", "fallback")
    assert_frozen(switch, "reason")
    removed = stream_cases.remove_source(c, actor(world, "root"), "vov1")
    assert_frozen(removed, "name")


def test_the_devices_use_cases_answer_frozen_records(world):
    c = world.controller
    admin = actor(world, "admin-a")
    sent = device_cases.set_unit_volume(c, admin, "thon-a", 70)
    assert isinstance(sent, devices.UnitVolumeSent) and sent.devices == ("loa-a",)
    assert sent.to_dict() == {"unit_id": "thon-a", "volume": 70, "devices": ["loa-a"]}
    assert_frozen(sent, "volume")

    schedule = device_cases.set_volume_schedule(c, admin, "xa-a", "06:00 80\n21:00 55")
    assert isinstance(schedule, devices.UnitVolumeSchedule) and schedule.own == schedule.follows
    assert isinstance(schedule.own, devices.VolumeSchedule) and [s.volume for s in schedule.own.steps] == [80, 55]
    assert_frozen(schedule, "own")
    assert_frozen(schedule.own, "steps")
    below = device_cases.volume_schedule(c, admin, "thon-a")
    assert below.own is None and below.follows == schedule.own
    assert below.to_dict()["follows"]["steps"] == [{"at": "06:00", "volume": 80}, {"at": "21:00", "volume": 55}]
    [listed] = device_cases.volume_schedules_in_scope(c, admin)
    assert isinstance(listed, devices.ScheduledUnit) and (listed.unit_id, listed.unit_name) == ("xa-a", "Xã A")
    assert_frozen(listed, "steps")

    c.ingest.on_state("loa-a", DeviceState(device_id="loa-a", online=True))
    page = device_cases.device_page(c, admin, "loa-a")
    assert [h.kind for h in page.history] == ["online"]
    assert isinstance(page.history[0], devices.HistoryEntry)
    assert_frozen(page.history[0], "kind")
    assert_frozen(page, "device")

    revoked = device_cases.revoke_device(c, admin, "loa-a")
    assert isinstance(revoked, devices.DeviceRevoked) and revoked.device_id == "loa-a"
    assert set(revoked.to_dict()) == {"device_id", "revoked", "broker_reloaded"}
    assert_frozen(revoked, "revoked")
