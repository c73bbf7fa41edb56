"""Finding 6 of the penetration test: a pole's broker credentials published ``started`` and
``finished`` for a broadcast that had not aired, under a new epoch, and the logbook showed it
as played.

Now each pole makes its own Ed25519 key at enrollment and seals its event batches with it;
the controller refuses unsigned batches and other keys, refuses signed events that cannot be
true (never sent to that device, before their time or delivery, in the future, longer than
the media), flags a new epoch for review, and forgets the key on revocation.  Everything
runs on the generated broker configuration with a really enrolled agent.
"""

from __future__ import annotations

import os
import stat
from datetime import timedelta

from edge_agent.config import AgentConfig
from loaxa import protocol
from loaxa.config import load_config
from loaxa.local_time import LOCAL_TZ
from loaxa.protocol import EventBatch, PlaybackEvent, Signer
from loaxa.wire_time import utcnow
from support.harness import wait_for
from support.secure_rig import Client, SecureRig


def _metric(ctl, name: str) -> float:
    import urllib.request

    text = urllib.request.urlopen(f"{ctl.url}/metrics", timeout=10).read().decode()
    return next(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " ")
                or line.startswith(name + "_total "))


def _audit(ctl, action: str) -> list[dict]:
    return [e for e in ctl.api.get("/api/audit") if e["action"] == action]


def test_forged_and_implausible_playback_records_never_reach_the_logbook(secure: SecureRig):
    ctl, pole, _code = secure.commune_with_pole("loa-1")
    wait_for(lambda: ctl.api.get("/api/devices/loa-1")["online"], timeout=30, what="loa-1 online")
    config = load_config(AgentConfig, secure.root / "agent-loa-1.toml", env={})
    key_file = config.device_key_path
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600  # the private half stays on the pole
    device_key = Signer.from_pem(key_file.read_bytes())
    with ctl.db() as conn:
        stored = [tuple(r) for r in conn.execute(
            "SELECT kid, public_key, retired_at FROM device_keys WHERE device_id = 'loa-1'").fetchall()]
    assert stored == [(device_key.kid, protocol.public_key_to_text(device_key.public_key), None)]
    assert _audit(ctl, "device_enrolled")[0]["details"]["device_kid"] == device_key.kid

    # The real pole's record is accepted: an emergency it really played.
    em = ctl.api.post("/api/emergency", {"targets": ["xa"], "text": "Thử còi báo động.", "reason": "thử"})
    wait_for(lambda: ctl.events(broadcast_id=em["broadcast_id"], kind="finished"), timeout=40,
             what="the pole's signed finished event")
    # A bulletin scheduled for tomorrow: in the pole's plan, not aired.
    bulletin = ctl.api.post("/api/bulletins", {"title": "Lịch tiêm", "text": "Ngày mai tiêm phòng."})
    wait_for(lambda: ctl.api.get(f"/api/bulletins/{bulletin['id']}").get("media"), timeout=60, what="rendered")
    tomorrow = (utcnow().astimezone(LOCAL_TZ) + timedelta(days=1)).strftime("%Y-%m-%d 10:00")
    bc = ctl.api.post("/api/broadcasts", {"bulletin_id": bulletin["id"], "starts_at": tomorrow, "targets": ["xa"]})
    plan = wait_for(lambda: [i for i in ctl.api.get("/api/plans/loa-1")["plan"]["items"] if i["broadcast_id"] == bc["id"]],
                    timeout=20, what="tomorrow's item in the plan")
    item_id = plan[0]["item_id"]

    pole.stop()  # the intruder holds the pole's broker account (copied off its SD card)
    thief = Client(secure.port, config.mqtt.username, config.mqtt.password, client_id="x")
    assert thief.accepted
    thief.subscribe(protocol.ack_topic("loa-1"))
    now = utcnow()

    def claim(epoch: str, *events: PlaybackEvent) -> EventBatch:
        return EventBatch(device_id="loa-1", epoch=epoch, events=events)

    aired = (PlaybackEvent(seq=1, kind="started", recorded_at=now, item_id=item_id, broadcast_id=bc["id"],
                           actual_start=now),
             PlaybackEvent(seq=2, kind="finished", recorded_at=now, item_id=item_id, broadcast_id=bc["id"],
                           actual_start=now, duration_s=5.0))
    rejected_before = _metric(ctl, "loaxa_mqtt_messages_rejected")
    unsigned = protocol.canonical_json({"v": protocol.PROTOCOL_VERSION, "type": "events",
                                        "body": claim("forged", *aired).to_dict()})
    thief.publish(protocol.events_topic("loa-1"), unsigned)
    thief.publish(protocol.events_topic("loa-1"), Signer.generate().seal(claim("forged", *aired)))
    wait_for(lambda: _metric(ctl, "loaxa_mqtt_messages_rejected") >= rejected_before + 2, timeout=20,
             what="both batches refused")
    assert ctl.events(broadcast_id=bc["id"]) == []
    assert thief.on(protocol.ack_topic("loa-1")) == []  # nothing was taken in

    # With the pole's own key (the whole pole stolen), records that cannot be true are refused still.
    later = now + timedelta(hours=2)
    implausible = claim(
        "new-epoch",
        PlaybackEvent(seq=1, kind="started", recorded_at=now, item_id=item_id, broadcast_id=bc["id"], actual_start=now),
        PlaybackEvent(seq=2, kind="finished", recorded_at=now, item_id="bc-never-sent-1", actual_start=now,
                      duration_s=3.0),
        PlaybackEvent(seq=3, kind="started", recorded_at=now, item_id=em["broadcast_id"], actual_start=later),
        PlaybackEvent(seq=4, kind="finished", recorded_at=now, item_id=em["broadcast_id"],
                      actual_start=now - timedelta(seconds=5), duration_s=3600.0),
        PlaybackEvent(seq=5, kind="security", recorded_at=now, reason="tamper"))
    thief.publish(protocol.events_topic("loa-1"), device_key.seal(implausible))
    wait_for(lambda: _audit(ctl, "playback_events_refused"), timeout=20, what="refusals audited")
    with ctl.db() as conn:
        reasons = dict(tuple(r) for r in conn.execute("SELECT seq, reason FROM refused_events WHERE device_id = 'loa-1' "
                                    "AND epoch = 'new-epoch'").fetchall())
    assert reasons == {1: "before_its_time", 2: "never_sent", 3: "in_the_future", 4: "longer_than_media"}
    assert ctl.events(broadcast_id=bc["id"]) == []
    assert [r["kind"] for r in ctl.events(epoch="new-epoch")] == ["security"]  # the plausible one is kept
    ack = wait_for(lambda: thief.on(protocol.ack_topic("loa-1")), timeout=10, what="the ack")
    verifier = protocol.Verifier([protocol.public_key_from_text(ctl.api.get("/api/pubkey")["public_key"])])
    assert verifier.open(ack[-1], protocol.Ack).up_to_seq == 5  # refused events are handled, not re-sent forever
    device = ctl.api.get("/api/devices/loa-1")
    assert [e["epoch"] for e in device["epochs_to_review"]] == ["new-epoch"]
    assert _audit(ctl, "device_epoch_new")[0]["details"]["epoch"] == "new-epoch"
    assert _metric(ctl, "loaxa_playback_events_refused") == 4
    thief.close()

    # Revocation retires the key; enrolling again makes a new one, and the old one is never accepted again.
    ctl.api.post("/api/devices/loa-1/revoke", {})
    with ctl.db() as conn:
        assert conn.execute("SELECT COUNT(*) FROM device_keys WHERE device_id = 'loa-1' AND retired_at IS NULL"
                            ).fetchone()[0] == 0
    code = ctl.api.post("/api/devices/loa-1/enrollment-code", {})["code"]
    secure.enroll(code, secure.root / "agent-loa-1.toml", kid=secure.kid)
    renewed = Signer.from_pem(key_file.read_bytes())
    assert renewed.kid != device_key.kid
    with ctl.db() as conn:
        active = [tuple(r) for r in conn.execute(
            "SELECT kid FROM device_keys WHERE device_id = 'loa-1' AND retired_at IS NULL").fetchall()]
    assert active == [(renewed.kid,)]


def test_enrollment_without_a_device_key_is_refused_and_keeps_the_code(secure: SecureRig):
    import requests

    secure.generate()
    secure.start_broker()
    ctl = secure.controller()
    ctl.api.post("/api/units", {"id": "xa", "name": "Xã Thử", "level": "commune"})
    code = secure.add_device("loa-9", "xa")
    url = ctl.url + "/api/enroll"
    r = requests.post(url, json={"code": code}, timeout=30)
    assert r.status_code == 400 and r.json()["code"] == "device_key_required" and "khóa" in r.json()["error"]
    r = requests.post(url, json={"code": code, "device_public_key": "không phải khóa"}, timeout=30)
    assert r.status_code == 400 and r.json()["code"] == "invalid_device_key"
    key = Signer.generate()
    r = requests.post(url, json={"code": code, "device_public_key": protocol.public_key_to_text(key.public_key)},
                      timeout=30)
    assert r.status_code == 200 and r.json()["device_id"] == "loa-9"  # the code was not spent by the refusals
