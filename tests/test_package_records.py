"""The security, fleet, notifications, people, dictionary, devices and plans packages answer frozen records, never dictionaries:
a caller cannot change an answer by accident, a misspelt field fails where it is read, and
``to_dict`` is the JSON the API has always answered (the sibling of ``test_use_case_records``)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from controller import devices, dictionary, fleet, notifications, people, plans, reports, security
from controller.devices import event_trust, map_view
from controller.devices import use_cases as device_cases
from controller.plans.relays import add_relay_bulletin
from controller.reports import report_scope
from controller.notifications import DEVICE_OFFLINE, Notice
from controller.people import use_cases as people_cases
from controller.people.actor import Actor
from loaxa import protocol
from loaxa.protocol import DeviceState, EventBatch, PlaybackEvent
from loaxa.wire_time import utcnow
from support.world import World, make_world
from test_use_case_records import actor, assert_frozen  # noqa: F401 - one definition of both helpers


@pytest.fixture
def world(tmp_path) -> World:
    w = make_world(tmp_path)
    yield w
    w.controller.stop()


def test_the_kill_switches_and_enrollment_answer_frozen_records(world):
    c = world.controller
    switches = c.security.kill_switches
    engaged = switches.engage("xa-a", actor(world, "root"), "thử")
    assert isinstance(engaged, security.KillSwitchEngaged) and engaged.devices == ("loa-a",)
    assert set(engaged.to_dict()) == {"unit_id", "engaged_at", "engaged_by", "reason", "devices"}
    assert_frozen(engaged, "reason")
    switches.engage("thon-a", actor(world, "admin-a"), "thôn")
    [thon, xa] = switches.engaged()
    assert isinstance(thon, security.KillSwitch) and (thon.unit_id, thon.engaged_by) == ("thon-a", "admin-a")
    assert_frozen(thon, "reason")
    # a person of thon-a sees the switch of xa-a above them without who engaged it or why
    scope = c.users.scope(c.users.add("editor-thon", "mat-khau-thu-nghiem", "editor", "thon-a"))
    seen = {k.unit_id: k for k in switches.engaged_for(scope)}
    assert seen["xa-a"].to_dict() == {"unit_id": "xa-a", "engaged_at": xa.engaged_at, "engaged_by": "", "reason": ""}
    assert seen["thon-a"] == thon
    lifted = switches.lift("thon-a", actor(world, "admin-a"))
    assert isinstance(lifted, security.KillSwitchLifted) and lifted.lifted and lifted.devices == ()  # xa-a still holds it
    assert lifted.to_dict() == {"unit_id": "thon-a", "lifted": True, "devices": []}
    assert_frozen(lifted, "devices")

    _device, code, _expires = c.security.add_device("thon-a", "Loa C", "loa-c", Actor.system("root"))
    key = protocol.public_key_to_text(protocol.Signer.generate().public_key)
    bundle = c.security.enroll(code, "127.0.0.1", key)
    assert isinstance(bundle, security.EnrollmentBundle) and isinstance(bundle.mqtt, security.BrokerGrant)
    assert bundle.device_id == "loa-c" and bundle.mqtt.username == "dev-loa-c"
    assert bundle.to_dict()["mqtt"] == {"host": bundle.mqtt.host, "port": bundle.mqtt.port, "username": "dev-loa-c",
                                        "password": bundle.mqtt.password, "tls": bundle.mqtt.tls}
    assert_frozen(bundle, "mqtt")
    assert_frozen(bundle.mqtt, "password")


def test_the_fleet_answers_frozen_records(world):
    c = world.controller
    root = actor(world, "root")
    for d in ("loa-a", "loa-b"):
        c.ingest.on_state(d, DeviceState(device_id=d, online=True, agent_version="0.1.0", update_state="updated"))
    with c.db.tx() as db:  # as ReleaseStore.publish stores a checked release (building one takes a signed wheel)
        for v in ("0.1.0", "0.2.0"):
            db["releases"].insert({"version": v, "notes": "", "floor": "0.1.0", "min_from_version": "0.1.0",
                                   "total_bytes": 1024, "files": 2, "manifest_sha256": "ab" * 32, "kid": "k",
                                   "published_at": "2026-01-01T00:00:00Z", "published_by": "cli"})
    [newest, _] = c.fleet.releases.list()
    assert isinstance(newest, fleet.Release) and newest == c.fleet.releases.get("0.2.0")
    assert newest.to_dict()["manifest_sha256"] == "ab" * 32
    assert_frozen(newest, "version")

    started = c.fleet.rollouts.start("0.2.0", ["tinh"], root, canary_share=0.5, waves=1)
    assert isinstance(started, fleet.Rollout) and started.targets == ("tinh",)
    assert all(isinstance(d, fleet.RolloutDevice) for d in started.devices)
    assert [(d.device_id, d.wave, d.from_version) for d in started.devices] == [("loa-a", 0, "0.1.0"),
                                                                              ("loa-b", 1, "0.1.0")]
    assert started.counts == {"sent": 1, "pending": 1} and started.to_dict()["counts"] == started.counts
    assert set(started.to_dict()) >= {"id", "targets", "devices", "of_rollout", "wave_started_at"}
    assert c.fleet.rollouts.list() == [c.fleet.rollouts.get(started.id)]
    assert_frozen(started, "status")
    assert_frozen(started.devices[0], "status")
    [back] = c.fleet.rollouts.rollback(started.id, root)
    assert isinstance(back, fleet.Rollout) and (back.kind, back.of_rollout, back.version) == ("rollback", started.id,
                                                                                               "0.1.0")

    [row, _] = c.fleet.device_versions()
    assert isinstance(row, fleet.FleetDevice) and (row.id, row.agent_version, row.last_update) == ("loa-a", "0.1.0", None)
    assert row.to_dict()["last_update"] is None
    assert_frozen(row, "agent_version")
    now = utcnow()
    c.ingest.on_events("loa-a", EventBatch(device_id="loa-a", epoch="e", events=(
        PlaybackEvent(seq=1, kind="update_failed", recorded_at=now, reason="crash", flags=("release:0.2.0",)),
        PlaybackEvent(seq=2, kind="finished", recorded_at=now, item_id="speaker-check-1", level_dbfs=-20.0),)))
    last = c.fleet.device_versions({"loa-a"})[0].last_update
    assert isinstance(last, fleet.LastUpdate) and (last.kind, last.reason) == ("update_failed", "crash")

    ordered = c.fleet.care.order("loa-a", "restart_agent", root)
    assert isinstance(ordered, fleet.CareOrdered) and ordered.item_id is None
    assert set(ordered.to_dict()) == {"device_id", "action", "command_seq", "item_id"}
    assert_frozen(ordered, "action")
    stored = c.fleet.care.store_diagnostics("loa-a", b'{"state": {"agent_version": "0.1.0"}, "log": ["x"]}')
    assert isinstance(stored, fleet.DiagnosticsStored) and stored.to_dict() == {"id": stored.id, "size": stored.size}
    [kept] = c.fleet.care.diagnostics("loa-a")
    assert isinstance(kept, fleet.Diagnostics) and kept.body["log"] == ["x"] and kept.id == stored.id
    assert_frozen(kept, "body")
    [check] = c.fleet.care.speaker_checks("loa-a")
    assert isinstance(check, fleet.SpeakerCheckEvent) and (check.kind, check.level_dbfs) == ("finished", -20.0)
    assert_frozen(check, "kind")
    history = c.fleet.care_history("loa-a")
    assert history.speaker_checks[0].level_dbfs == -20.0 and history.diagnostics[0].log_lines == 1


def test_the_bell_answers_frozen_records(world):
    c = world.controller
    admin = actor(world, "admin-a")
    nid = c.notifications.raise_notice(Notice(kind=DEVICE_OFFLINE, key="k", title="Mất kết nối", body="loa-a",
                                              people=("admin-a",)))
    read = c.notifications.mark_read(admin, nid)
    assert isinstance(read, notifications.NotificationRead) and read.to_dict() == {"id": nid, "read": True, "unread": 0}
    assert_frozen(read, "unread")
    every = c.notifications.mark_all_read(admin)
    assert isinstance(every, notifications.AllRead) and every.to_dict() == {"marked": 0, "unread": 0}
    assert_frozen(every, "marked")
    email = c.notifications.set_email(admin, " xa-a@loa.example ")
    assert isinstance(email, notifications.NotificationEmail) and email.email == "xa-a@loa.example"
    assert email.to_dict() == {"email": "xa-a@loa.example"} and c.notifications.email_of(admin) == email.email
    assert_frozen(email, "email")


def test_people_and_the_dictionary_answer_frozen_records(world):
    c = world.controller
    root = actor(world, "root")
    reset = people_cases.reset_password(c, root, "editor-a", "mat-khau-moi-dai-du", revoke_tokens=True)
    assert isinstance(reset, people.PasswordReset) and reset.to_dict() == {"sessions_ended": True, "tokens_revoked": 1}
    assert_frozen(reset, "tokens_revoked")
    [user] = [u for u in people_cases.list_users(c, root) if u.username == "editor-a"]
    assert isinstance(user, people.User)
    assert_frozen(user, "role")

    entry = c.dictionary.put("UBND", "ủy ban nhân dân", actor="root")
    assert isinstance(entry, dictionary.DictionaryEntry) and entry == c.dictionary.get("UBND")
    assert_frozen(entry, "reading")
    review = c.dictionary.review("UBND xã họp. QWZX đến.")
    assert isinstance(review, dictionary.Review) and [f.word for f in review.unknown] == ["QWZX"]
    assert all(isinstance(f, dictionary.Finding) for f in review.unknown + review.foreign)
    assert_frozen(review, "unknown")
    assert_frozen(review.unknown[0], "spoken")


def test_placing_a_cluster_answers_a_frozen_record(world):
    c = world.controller
    admin = actor(world, "admin-a")
    located = map_view.set_location(c, admin, "loa-a", "21,03", 105.85)
    assert isinstance(located, devices.DeviceLocated) and (located.lat, located.lon) == (21.03, 105.85)
    assert located.to_dict() == {"device_id": "loa-a", "lat": 21.03, "lon": 105.85}
    assert_frozen(located, "lat")
    assert map_view.set_location(c, admin, "loa-a", "", "").to_dict() == {"device_id": "loa-a", "lat": None, "lon": None}


def test_the_playback_log_answers_frozen_entries_whose_to_dict_is_the_api_json(world):
    c = world.controller
    now = utcnow()
    c.ingest.on_events("loa-a", EventBatch(device_id="loa-a", epoch="e", events=(
        PlaybackEvent(seq=1, kind="delivered", recorded_at=now - timedelta(seconds=2), broadcast_id="bc-1",
                      flags=("late", "cached")),
        PlaybackEvent(seq=2, kind="skipped", recorded_at=now, broadcast_id="bc-1", reason="expired", level_dbfs=-9.5),)))
    newest, oldest = c.playback(device_id="loa-a")
    assert isinstance(newest, devices.PlaybackLogEntry) and (newest.seq, newest.reason, newest.flags) == (2, "expired", ())
    assert oldest.flags == ("late", "cached") and oldest.to_dict()["flags"] == ["late", "cached"]
    assert list(oldest.to_dict()) == [f for f in newest.to_dict()]  # the columns of playback_events, in order
    assert {"id", "epoch", "prev_hash", "hash", "received_at"} <= set(oldest.to_dict())
    assert_frozen(newest, "kind")
    assert world.call("root", "GET", "/api/playback?device=loa-a").json == [newest.to_dict(), oldest.to_dict()]
    assert world.call("root", "GET", "/api/devices/loa-a/events").json == [newest.to_dict(), oldest.to_dict()]
    assert c.playback(broadcast_id="bc-1", kind="delivered") == [oldest]


def test_the_test_tone_is_a_frozen_media_record(world):
    c = world.controller
    made = c.test_tone_media()
    assert isinstance(made, devices.ToneMedia) and (made.ext, made.duration_s) == ("ogg", 3.0) and made.size > 0
    assert c.test_tone_media() == made  # the second time it is the stored row, read back
    with c.db.tx() as db:
        [row] = db.query("SELECT * FROM media WHERE sha256 = ?", [made.sha256])
    assert made.to_dict() == {k: row[k] for k in made.to_dict()}
    assert_frozen(made, "sha256")
    sent = c.remote.test_tone("loa-a", actor(world, "root"))
    assert isinstance(sent, devices.ToneSent) and sent.item_id.startswith("tone")


def test_a_devices_flagged_epochs_are_frozen_records_and_its_json_is_unchanged(world):
    c = world.controller
    now = utcnow()
    for n, epoch in enumerate(("first", "second", "third")):
        event_trust.note_epoch(c.db, "loa-a", epoch, now + timedelta(seconds=n))
    flagged = c.registry.device("loa-a").epochs_to_review
    assert [e.epoch for e in flagged] == ["second", "third"]  # the first is the device's own, nothing to review
    assert all(isinstance(e, devices.FlaggedEpoch) for e in flagged)
    assert_frozen(flagged[0], "epoch")
    shown = world.call("root", "GET", "/api/devices/loa-a").json["epochs_to_review"]
    assert shown == [{"epoch": e.epoch, "first_seen": e.first_seen} for e in flagged]
    page = device_cases.device_page(c, actor(world, "root"), "loa-a")
    assert page.epochs_to_review == list(flagged)


def test_a_relay_programmes_bulletin_is_the_record_the_bulletins_answer(world):
    c = world.controller
    r = world.call("root", "POST", "/api/relay-sources", {"id": "vov1", "name": "VOV1", "url": "http://127.0.0.1:9/l.m3u8",
                                                          "kind": "hls"})
    assert r.status_code == 201, r.get_json()
    stored = []
    bulletin = add_relay_bulletin(c.db, c.streaming.sources, "vov1", 1800.0, None, "editor-a", on_stored=stored.append)
    assert isinstance(bulletin, plans.Bulletin) and bulletin == c.bulletins.get(bulletin.id)
    assert (bulletin.title, bulletin.relay_source_id, bulletin.relay_duration_s, bulletin.media) == (
        "Tiếp sóng VOV1", "vov1", 1800.0, None)
    assert stored[0]["id"] == bulletin.id  # the audit hook still hears the stored row
    assert_frozen(bulletin, "title")


def test_the_devices_a_report_covers_are_frozen_records(world):
    c = world.controller
    c.ingest.on_state("loa-a", DeviceState(device_id="loa-a", online=True, agent_version="0.1.0"))
    auditor = actor(world, "auditor-a")
    [a] = report_scope.devices(c, auditor, "xa-a")
    assert isinstance(a, reports.ReportDevice) and (a.id, a.unit_id, a.online) == ("loa-a", "thon-a", True)
    registered = c.registry.device("loa-a")
    assert a.to_dict() == {"id": "loa-a", "name": registered.name, "unit_id": "thon-a", "online": True,
                           "last_seen": registered.last_seen, "created_at": registered.created_at}
    assert_frozen(a, "online")
    assert [d.id for d in report_scope.devices(c, actor(world, "root"), None)] == ["loa-a", "loa-b"]
