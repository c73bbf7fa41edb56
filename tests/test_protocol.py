"""Wire protocol v1: every message round-trips; anything forged, malformed or oversize is refused."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loaxa import protocol
from loaxa.protocol import (
    Ack,
    Command,
    DeviceState,
    EventBatch,
    KeyRollover,
    Plan,
    PlaybackEvent,
    PlayItem,
    ProtocolError,
    SignatureError,
    Signer,
    Verifier,
)
from loaxa.wire_time import utcnow

SHA = "ab" * 32
NOW = utcnow().replace(microsecond=0)


def item(n: int = 1, **kw) -> PlayItem:
    base = dict(item_id=f"bc-{n}", start=NOW + timedelta(minutes=n), sha256=SHA, size=1234, duration_s=12.5,
                priority="priority", volume=70, expires_at=NOW + timedelta(hours=1), broadcast_id=f"bc-{n}",
                title="Thông báo tiêm chủng")
    base.update(kw)
    return PlayItem(**base)


SIGNED = [
    Plan(device_id="loa-1", plan_version=7, issued_at=NOW, expires_at=NOW + timedelta(hours=48),
         items=(item(1), item(2)), groups=("thon-a", "xa", "tinh")),
    Command(target="grp/xa", seq=3, action="play_now", issued_at=NOW, expires_at=NOW + timedelta(minutes=2),
            item=item(3, priority="emergency"), reason="Bão số 3", issued_by="chu-tich"),
    Command(target="dev/loa-1", seq=4, action="set_volume", issued_at=NOW, expires_at=NOW + timedelta(minutes=2), volume=55),
    Ack(device_id="loa-1", epoch="e1-abc", up_to_seq=42, issued_at=NOW),
    KeyRollover(seq=1, next_public_key=protocol.public_key_to_text(Signer.generate().public_key), retire_kid="abcd",
                issued_at=NOW),
    protocol.ChainHeads(seq=2, issued_at=NOW, controller_url="https://loa.example",
                        heads=(protocol.ChainHead(chain="audit_log:all", length=3, head="ab" * 32),
                               protocol.ChainHead(chain="playback_events:loa-1", length=9, head="cd" * 32))),
    # sealed by the device's own key, not the controller's
    EventBatch(device_id="loa-1", epoch="e1-abc", events=(
        PlaybackEvent(seq=1, kind="started", recorded_at=NOW, item_id="bc-1", broadcast_id="bc-1", sha256=SHA,
                      plan_version=7, planned_at=NOW, actual_start=NOW, flags=("late",)),
        PlaybackEvent(seq=2, kind="finished", recorded_at=NOW, item_id="bc-1", duration_s=12.5),
    )),
]
UNSIGNED = [
    DeviceState(device_id="loa-1", online=True, ts=NOW, agent_version="0.1.0", plan_version=7, media_ready=True,
                clock_offset_ms=1.5, volume=70, playing="bc-1", relay_on=True, cache_bytes=10, free_disk_bytes=99,
                faults=("disk_full",)),
    protocol.offline_state("loa-1"),
]


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.generate()


@pytest.mark.parametrize("msg", SIGNED, ids=lambda m: m.TYPE)
def test_signed_messages_round_trip(signer, msg):
    verifier = Verifier([signer.public_key])
    sealed = signer.seal(msg)
    assert verifier.open(sealed, type(msg)) == msg
    assert sealed == protocol.canonical_json(json.loads(sealed))  # the spliced signature keeps it canonical


@pytest.mark.parametrize("msg", UNSIGNED, ids=lambda m: m.TYPE)
def test_unsigned_messages_round_trip(msg):
    assert protocol.decode(protocol.encode(msg), type(msg)) == msg


def test_tampered_body_is_refused(signer):
    payload = json.loads(signer.seal(SIGNED[0]))
    payload["body"]["items"][0]["sha256"] = "cd" * 32
    with pytest.raises(SignatureError, match="bad signature"):
        Verifier([signer.public_key]).open(json.dumps(payload), Plan)


def test_other_key_unsigned_and_wrong_type_are_refused(signer):
    other = Signer.generate()
    verifier = Verifier([signer.public_key])
    with pytest.raises(SignatureError, match="unknown key"):
        verifier.open(other.seal(SIGNED[0]), Plan)
    env = json.loads(signer.seal(SIGNED[0]))
    del env["sig"]
    with pytest.raises(SignatureError, match="not signed"):
        verifier.open(json.dumps(env), Plan)
    with pytest.raises(ProtocolError, match="expected a 'cmd'"):
        verifier.open(signer.seal(SIGNED[0]), Command)
    # A forged signature with the right key id is still refused.
    env = json.loads(signer.seal(SIGNED[0]))
    env["sig"] = base64.b64encode(other._key.sign(b"x")).decode()
    with pytest.raises(SignatureError):
        verifier.open(json.dumps(env), Plan)


@pytest.mark.parametrize("msg", SIGNED, ids=lambda m: m.TYPE)
def test_sealing_a_serialised_body_gives_the_same_bytes(signer, msg):
    assert signer.seal_body(type(msg), msg.to_dict()) == signer.seal(msg)


def test_a_plan_body_with_its_item_documents_added_seals_as_the_whole_plan(signer):
    """How the dispatcher seals a device plan: its own fields, then item documents shared by many devices."""
    plan = SIGNED[0]
    shared = [i.to_dict() for i in plan.items]
    body = Plan(device_id=plan.device_id, plan_version=plan.plan_version, issued_at=plan.issued_at,
                expires_at=plan.expires_at, groups=plan.groups).to_dict()
    body["items"] = shared
    sealed = signer.seal_body(Plan, body)
    assert sealed == signer.seal(plan)
    assert Verifier([signer.public_key]).open(sealed, Plan) == plan


def test_signing_is_refused_for_device_messages(signer):
    with pytest.raises(ProtocolError):
        signer.seal(UNSIGNED[0])
    with pytest.raises(ProtocolError, match="not signed"):
        signer.seal_body(DeviceState, UNSIGNED[0].to_dict())
    with pytest.raises(ProtocolError, match="must be an object"):
        signer.seal_body(Plan, [SIGNED[0].to_dict()])  # type: ignore[arg-type]
    with pytest.raises(ProtocolError):
        protocol.encode(SIGNED[0])


@pytest.mark.parametrize("payload, why", [
    (b"", "not JSON"),
    (b"\xff\xfe", "not UTF-8"),
    (b"[1,2]", "JSON object"),
    (b'{"v": 2, "type": "state", "body": {}}', "version"),
    (b'{"v": 1, "type": "state", "body": []}', "body must be"),
    (b'{"v": 1, "type": "state", "body": {"device_id": "x"}}', "online"),
    (b'{"v": 1, "type": "state", "body": {"device_id": "../etc", "online": true}}', "not a valid id"),
    (b'{"v": 1, "type": "state", "body": {"device_id": "a", "online": "yes"}}', "wrong type"),
    (b'{"v": 1, "type": "state", "body": {"device_id": "a", "online": true, "volume": 300}}', "outside"),
    (b" " * (protocol.MAX_PAYLOAD_BYTES + 1), "exceeds"),
])
def test_malformed_payloads_give_clear_errors(payload, why):
    with pytest.raises(ProtocolError, match=why):
        protocol.decode(payload, DeviceState)


def test_event_batch_rules(signer):
    body = json.loads(signer.seal(SIGNED[-1]))
    body["body"]["events"].reverse()
    with pytest.raises(ProtocolError, match="increasing seq"):
        protocol.decode(json.dumps(body), EventBatch)
    body["body"]["events"] = []
    with pytest.raises(ProtocolError, match="1 to 1000"):
        protocol.decode(json.dumps(body), EventBatch)


def test_plan_item_validation(signer):
    bad = SIGNED[0].to_dict()
    bad["items"][0]["sha256"] = "../../etc/passwd"
    with pytest.raises(ProtocolError, match="sha256"):
        Plan.from_dict(bad)
    bad = SIGNED[0].to_dict()
    bad["items"][0]["start"] = "2026-01-01T00:00:00"
    with pytest.raises(ProtocolError, match="UTC offset"):
        Plan.from_dict(bad)
    bad = SIGNED[0].to_dict()
    bad["items"][1]["item_id"] = bad["items"][0]["item_id"]
    with pytest.raises(ProtocolError, match="repeats"):
        Plan.from_dict(bad)


def test_topics():
    assert protocol.plan_topic("loa-1") == "loaxa/v1/dev/loa-1/plan"
    assert protocol.group_cmd_topic("xa") == "loaxa/v1/grp/xa/cmd"
    t = protocol.parse_topic("loaxa/v1/dev/loa-1/events")
    assert (t.scope, t.target, t.kind) == ("dev", "loa-1", "events")
    for bad in ("loaxa/v2/dev/a/plan", "loaxa/v1/dev/+/plan", "x", "loaxa/v1/foo/a/plan"):
        with pytest.raises(ProtocolError):
            protocol.parse_topic(bad)
    with pytest.raises(ProtocolError):
        protocol.plan_topic("a/b")


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass"))))
def test_garbage_never_crashes_the_decoders(data):
    for cls in (DeviceState, EventBatch):
        assert_valid_or_explained(lambda: protocol.decode(data, cls), cls)
    with pytest.raises(ProtocolError):  # nothing is signed by a key the verifier knows
        Verifier([]).open(data, Plan)


def assert_valid_or_explained(parse, cls) -> None:
    """A decoder either returns a message of its type or raises ProtocolError with a reason."""
    try:
        msg = parse()
    except ProtocolError as exc:
        assert str(exc)
    else:
        assert isinstance(msg, cls)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["device_id", "online", "epoch", "events", "volume", "ts", "faults", "seq",
                                        "kind", "recorded_at"]), json_values, max_size=8))
def test_wrong_types_in_bodies_give_protocol_errors(body):
    for cls in (DeviceState, EventBatch):
        payload = json.dumps({"v": 1, "type": cls.TYPE, "body": body})
        assert_valid_or_explained(lambda: protocol.decode(payload, cls), cls)


HUGE_INT = "9" * 5000  # more digits than Python converts by default (int_max_str_digits)


@pytest.mark.parametrize("body", [
    '{"device_id": "a", "online": true, "volume": %s}' % HUGE_INT,
    '{"device_id": "a", "online": true, "plan_version": %s}' % HUGE_INT,
])
def test_an_integer_too_long_to_convert_is_a_protocol_error(body):
    payload = ('{"v": 1, "type": "state", "body": %s}' % body).encode()
    with pytest.raises(ProtocolError, match="usable JSON"):
        protocol.decode(payload, DeviceState)
    signed = ('{"v": 1, "type": "plan", "kid": "k", "sig": "x", "body": {"plan_version": %s}}' % HUGE_INT).encode()
    with pytest.raises(ProtocolError, match="usable JSON"):
        Verifier([]).open(signed, Plan)
