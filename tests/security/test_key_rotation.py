"""Key rotation end to end: a signed rollover moves a real agent to the new key, for good."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta

from support.harness import Listener, loaxa, wait_for

from support.tree import seed_commune
from loaxa import protocol
from loaxa.protocol import DeviceState, Plan, Signer
from loaxa.wire_time import utcnow


def test_rotation_moves_controller_and_agent_to_the_new_key_and_retires_the_old(system, broker):
    ctl = system.controller()
    api = ctl.api
    seed_commune(api, {"loa-1": "thon-a"})
    old_kid = api.get("/api/pubkey")["kid"]
    agent = system.agent("loa-1", api.get("/api/pubkey")["public_key"], ctl.url)
    listener = Listener(broker, protocol.state_topic("loa-1"))

    def state() -> DeviceState | None:
        payloads = listener.on(protocol.state_topic("loa-1"))
        return protocol.decode(payloads[-1], DeviceState) if payloads else None

    def stored_plan() -> tuple[int, str]:
        with ctl.db() as conn:
            version, payload = conn.execute("SELECT plan_version, payload FROM device_plans WHERE device_id = 'loa-1'").fetchone()
        return version, json.loads(payload)["kid"]

    wait_for(lambda: state() and state().online and state().plan_version == stored_plan()[0], what="plan applied")
    before = stored_plan()[0]
    retired = Signer.from_pem((ctl.data_dir / "keys" / "controller-ed25519.pem").read_bytes())  # a copy an insider kept

    out = ctl.loaxa_cli("keys", "rotate")
    new_kid = out.stdout.split()[-1]
    assert new_kid != old_kid and f"{old_kid} retired" in out.stdout
    wait_for(lambda: api.get("/api/pubkey")["kid"] == new_kid, what="controller follows the key file")
    wait_for(lambda: stored_plan()[1] == new_kid and stored_plan()[0] > before, what="plan signed again")
    wait_for(lambda: state().plan_version == stored_plan()[0], what="agent applies the plan signed with the new key")
    with agent.db() as conn:
        pinned = json.loads(conn.execute("SELECT value FROM kv WHERE key = 'controller_keys'").fetchone()[0])
    assert [protocol.key_id(protocol.public_key_from_text(k)) for k in pinned["keys"]] == [new_kid]
    assert pinned["seq"] == 1
    security = wait_for(lambda: ctl.events(device_id="loa-1", kind="security"), what="rollover reported")
    assert new_kid in security[0]["reason"]
    # the retained chain heads are signed again with the new key: a pole that restarts finds no retired
    # key's signature on the broker (it would count a security rejection)
    heads = Listener(broker, protocol.heads_topic(), client_id="test-heads")
    try:
        wait_for(lambda: [p for t, p, retained in heads.messages if json.loads(p)["kid"] == new_kid],
                 what="the chain heads signed again with the new key")
    finally:
        heads.close()

    # Only the retired key's public half stays on the controller, and so in its backups.
    assert sorted(p.name for p in (ctl.data_dir / "keys" / "retired").iterdir()) == [f"{old_kid}.pub"]
    kept = (ctl.data_dir / "keys" / "retired" / f"{old_kid}.pub").read_text().strip()
    assert kept == protocol.public_key_to_text(retired.public_key)
    applied = state().plan_version

    def forged(version: int) -> bytes:
        now = utcnow()
        return retired.seal(Plan(device_id="loa-1", plan_version=version, issued_at=now,
                                 expires_at=now + timedelta(hours=1)))

    listener.publish(protocol.plan_topic("loa-1"), forged(applied + 10))
    wait_for(lambda: state().security_rejections == 1, what="a plan signed with the retired key is rejected")
    assert state().plan_version == applied

    agent.stop()
    agent.start()  # the retired key stays retired across a restart; the stored plan still loads
    wait_for(lambda: state().online and state().security_rejections == 0, timeout=60, what="agent back")
    listener.publish(protocol.plan_topic("loa-1"), forged(applied + 11))
    wait_for(lambda: state().security_rejections >= 1, what="retired key still rejected after restart")
    assert state().plan_version == applied

    agent.stop()
    ctl.loaxa_cli("keys", "rotate")
    refused = subprocess.run(loaxa("keys", "rotate", "-c", ctl.cmd[-1]), capture_output=True, text=True,
                             env=ctl.env, timeout=60)
    assert refused.returncode != 0 and "loa-1" in refused.stderr and "--force" in refused.stderr
    listener.close()
