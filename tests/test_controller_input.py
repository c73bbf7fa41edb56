"""Bad input never crashes the controller and never stores anything; errors are clear JSON."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from controller.cli_http.client import ApiError
from support.harness import Listener, wait_for
from support.tree import seed_commune
from loaxa import protocol
from loaxa.protocol import DeviceState, EventBatch, PlaybackEvent, Signer
from loaxa.wire_time import format_time, utcnow


def test_malformed_mqtt_payloads_do_not_crash_the_controller(system, broker):
    ctl = system.controller()
    seed_commune(ctl.api, {"loa-1": "thon-a"})
    pub = Listener(broker, client_id="intruder")
    garbage = [b"", b"\xff\xfe\x00", b"{", b"[]", b'{"v":1,"type":"state","body":{"device_id":"loa-1"}}',
               b"x" * (protocol.MAX_PAYLOAD_BYTES + 10),
               b'{"v":1,"type":"state","body":{"device_id":"loa-1","online":true,"volume":' + b"9" * 5000 + b"}}"]
    for topic in (protocol.state_topic("loa-1"), protocol.events_topic("loa-1"), protocol.events_topic("ghost")):
        for payload in garbage:
            pub.publish(topic, payload)
    # Valid messages from an unknown device are refused too.
    pub.publish(protocol.state_topic("ghost"), protocol.encode(DeviceState(device_id="ghost", online=True)))
    # A device cannot speak for another on its own topic.
    pub.publish(protocol.state_topic("loa-1"), protocol.encode(DeviceState(device_id="loa-2", online=True)))
    # Then a valid state and a valid event batch still go through: the ingest loop is alive.
    pub.publish(protocol.state_topic("loa-1"), protocol.encode(DeviceState(device_id="loa-1", online=True, plan_version=3)))
    batch = EventBatch(device_id="loa-1", epoch="e1", events=(PlaybackEvent(seq=1, kind="skipped", recorded_at=utcnow()),))
    pub.publish(protocol.events_topic("loa-1"), Signer.generate().seal(batch))
    wait_for(lambda: ctl.api.get("/api/devices/loa-1")["plan_version_applied"] == 3, what="valid state ingested")
    wait_for(lambda: len(ctl.events()) == 1, what="valid event stored")
    assert ctl.alive
    assert "rejected message" in ctl.log()
    assert "failed to handle message" not in ctl.log()  # every parse failure is a ProtocolError, none a crash
    assert all(r["device_id"] == "loa-1" for r in ctl.events())
    pub.close()


def test_duplicate_event_batches_are_stored_once_and_acked_contiguously(system, broker):
    ctl = system.controller()
    seed_commune(ctl.api, {"loa-1": "thon-a"})
    pub = Listener(broker, protocol.ack_topic("loa-1"), client_id="fake-device")
    now = utcnow()
    ev = lambda n: PlaybackEvent(seq=n, kind="security", recorded_at=now, reason=f"r{n}")  # noqa: E731
    key = Signer.generate()  # loa-1 was never enrolled, and this test rig does not require a known key
    first = EventBatch(device_id="loa-1", epoch="e1", events=(ev(1), ev(2)))
    gap = EventBatch(device_id="loa-1", epoch="e1", events=(ev(4),))
    for b in (first, first, gap):
        pub.publish(protocol.events_topic("loa-1"), key.seal(b))
    wait_for(lambda: len(pub.on(protocol.ack_topic("loa-1"))) == 3, what="three acks")
    verifier = protocol.Verifier([protocol.public_key_from_text(ctl.api.get("/api/pubkey")["public_key"])])
    acks = [verifier.open(p, protocol.Ack).up_to_seq for p in pub.on(protocol.ack_topic("loa-1"))]
    assert acks == [2, 2, 2]  # seq 3 is missing, so 4 is stored but not yet acknowledged
    assert [r["seq"] for r in ctl.events()] == [1, 2, 4]
    pub.publish(protocol.events_topic("loa-1"), key.seal(EventBatch(device_id="loa-1", epoch="e1", events=(ev(3), ev(4)))))
    wait_for(lambda: len(pub.on(protocol.ack_topic("loa-1"))) == 4, what="fourth ack")
    assert verifier.open(pub.on(protocol.ack_topic("loa-1"))[-1], protocol.Ack).up_to_seq == 4
    assert [r["seq"] for r in ctl.events()] == [1, 2, 3, 4]
    pub.close()


@pytest.mark.parametrize("path, data, code", [
    ("/api/bulletins", {"text": ""}, "empty_text"),
    ("/api/bulletins", {"text": "x" * 100_001}, "text_too_long"),
    ("/api/bulletins", {"text": 42}, "empty_text"),
    ("/api/bulletins", [1, 2], "invalid_json"),
    ("/api/units", {"id": "../x", "name": "A"}, "invalid_id"),
    ("/api/units", {"id": "b", "name": "B", "parent_id": "nope"}, "unknown_unit"),
    ("/api/devices", {"id": "d", "name": "D", "unit_id": "nope"}, "unknown_unit"),
    ("/api/broadcasts", {"bulletin_id": "nope", "starts_at": "2030-01-01 06:00", "targets": ["xa"]}, "unknown_bulletin"),
])
def test_bad_api_requests_get_4xx_with_a_clear_message(refusing_controller, path, data, code):
    with pytest.raises(ApiError) as err:
        refusing_controller.api.post(path, data)
    assert 400 <= err.value.status < 500
    assert err.value.code == code
    assert str(err.value)


def test_broadcast_refusals_store_nothing(system):
    ctl = system.controller()
    api = ctl.api
    seed_commune(api, {"loa-1": "thon-a"})
    b = api.post("/api/bulletins", {"text": "Thông báo ngắn."})
    future = format_time(utcnow() + timedelta(hours=1))
    cases = [
        ({"starts_at": format_time(utcnow() - timedelta(minutes=5)), "targets": ["xa"]}, "in_the_past"),
        ({"starts_at": "ngày mai", "targets": ["xa"]}, "invalid_time"),
        ({"starts_at": future, "targets": []}, "no_targets"),
        ({"starts_at": future, "targets": ["khong-co"]}, "unknown_target"),
        ({"starts_at": future, "targets": ["xa"], "priority": "urgent"}, "invalid_priority"),
    ]
    for extra, code in cases:
        with pytest.raises(ApiError) as err:
            api.post("/api/broadcasts", {"bulletin_id": b["id"], **extra})
        assert err.value.status == 400 and err.value.code == code, extra
    assert api.get("/api/broadcasts") == []
    with pytest.raises(ApiError) as err:
        api.get("/api/broadcasts/khong-co")
    assert err.value.status == 404
    with pytest.raises(ApiError) as err:
        api.request("PUT", "/api/bulletins")
    assert err.value.status == 405 and "Phương thức" in str(err.value)


def test_media_endpoint_serves_only_known_sha256_names_with_range(system):
    import urllib.error
    import urllib.request

    ctl = system.controller()
    b = ctl.api.post("/api/bulletins", {"text": "Thông báo ngắn."})
    sha = b["media"]["sha256"]
    url = f"{ctl.url}/media/{sha}.ogg"
    full = urllib.request.urlopen(url).read()
    assert len(full) == b["media"]["size"]
    req = urllib.request.Request(url, headers={"Range": "bytes=100-"})
    with urllib.request.urlopen(req) as resp:
        assert resp.status == 206
        assert resp.read() == full[100:]
    for bad in ("../loaxa.db", "%2e%2e%2floaxa.db", f"{sha}.wav", f"{'0' * 64}.ogg", "loaxa.db"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{ctl.url}/media/{bad}")
        assert err.value.code == 404
