"""A speaker plays only what the controller signed, for it, now, and newer than what it has."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from support.harness import Listener, wait_for
from loaxa import protocol
from loaxa.protocol import Command, DeviceState, Plan, PlayItem, Signer
from loaxa.wire_time import utcnow

DEVICE = "loa-1"


@pytest.fixture
def rig(system, broker):
    signer = Signer.generate()
    agent = system.agent(DEVICE, protocol.public_key_to_text(signer.public_key))
    listener = Listener(broker, protocol.state_topic(DEVICE))
    yield signer, agent, listener
    listener.close()


def latest_state(listener: Listener) -> DeviceState | None:
    payloads = listener.on(protocol.state_topic(DEVICE))
    return protocol.decode(payloads[-1], DeviceState) if payloads else None


def plan(version: int, *, device: str = DEVICE, expires_in: float = 3600, start_in: float = 2.0) -> Plan:
    now = utcnow()
    item = PlayItem(item_id=f"bad-{version}", start=now + timedelta(seconds=start_in), sha256="ab" * 32, size=10,
                    duration_s=1.0)
    return Plan(device_id=device, plan_version=version, issued_at=now, expires_at=now + timedelta(seconds=expires_in),
                items=(item,))


def applied(listener: Listener, version: int, rejections: int):
    def check():
        s = latest_state(listener)
        return s if s and s.plan_version == version and s.security_rejections == rejections else None
    return check


def test_forged_wrong_target_and_expired_plans_are_rejected_and_an_older_one_ignored(rig, broker):
    signer, agent, listener = rig
    wait_for(lambda: latest_state(listener) and latest_state(listener).online, what="agent online")
    topic = protocol.plan_topic(DEVICE)
    listener.publish(topic, signer.seal(plan(5, start_in=3600)))
    wait_for(applied(listener, 5, 0), what="valid plan v5 applied")

    tampered = json.loads(signer.seal(plan(6)))
    tampered["body"]["items"][0]["sha256"] = "cd" * 32
    forged = Signer.generate().seal(plan(7))
    wrong_target = signer.seal(plan(8, device="loa-2"))
    expired = signer.seal(plan(9, expires_in=-1))
    replayed = signer.seal(plan(4))
    huge_int = b'{"v": 1, "type": "plan", "kid": "k", "sig": "x", "body": {"plan_version": ' + b"9" * 5000 + b"}}"
    for payload in (json.dumps(tampered).encode(), forged, wrong_target, expired, replayed, b"{not json", huge_int):
        listener.publish(topic, payload)

    # An older plan under the controller's own signature is what a bridge or a restored broker re-sends:
    # ignored quietly, not counted as an attack.
    state = wait_for(applied(listener, 5, 6), what="six rejections reported in state")
    assert state.plan_version == 5
    wait_for(lambda: "ignoring plan v4" in agent.log(), what="the older plan ignored")
    with agent.db() as conn:
        assert conn.execute("SELECT version FROM plan").fetchone()[0] == 5
        events = [json.loads(r[0]) for r in conn.execute("SELECT payload FROM outbox")]
    assert any(e["kind"] == "security" for e in events)
    assert "rejected message" in agent.log()
    assert agent.plays() == []


def test_commands_for_others_expired_or_replayed_do_nothing(rig):
    signer, agent, listener = rig
    wait_for(lambda: latest_state(listener) and latest_state(listener).online, what="agent online")
    now = utcnow()

    def cmd(seq: int, target: str = f"dev/{DEVICE}", ttl: float = 60, volume: int = 10) -> bytes:
        return signer.seal(Command(target=target, seq=seq, action="set_volume", issued_at=now,
                                   expires_at=now + timedelta(seconds=ttl), volume=volume))

    listener.publish(protocol.cmd_topic(DEVICE), cmd(10, volume=33))
    wait_for(lambda: latest_state(listener).volume == 33, what="valid command applied")
    for payload in (cmd(11, target="dev/loa-2", volume=1), cmd(12, ttl=-5, volume=2), cmd(10, volume=3),
                    Signer.generate().seal(Command(target=f"dev/{DEVICE}", seq=13, action="set_volume", issued_at=now,
                                                   expires_at=now + timedelta(seconds=60), volume=4))):
        listener.publish(protocol.cmd_topic(DEVICE), payload)
    state = wait_for(lambda: latest_state(listener).security_rejections == 4 and latest_state(listener),
                     what="four command rejections")
    assert state.volume == 33


def test_a_missing_device_key_is_made_whole_private_and_kept(tmp_path):
    """The key appears complete or not at all (a reader never sees an empty file), mode 0600, and stays."""
    import stat

    from edge_agent.agent import load_device_key

    path = tmp_path / "keys" / "device-ed25519.pem"
    made = load_device_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert load_device_key(path).kid == made.kid
    assert sorted(p.name for p in path.parent.iterdir()) == ["device-ed25519.pem"]
