"""A full disk on the pole: the agent says so in its state and its log, plays nothing broken, and recovers.

The media cache sits on a real 4 MiB tmpfs, too small for the download margin the agent keeps.
"""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta

import pytest

from support.agent_rig import MediaServer, make_clip, play_item, sealed_plan
from support.harness import Listener, wait_for
from loaxa import protocol
from loaxa.protocol import DeviceState, Signer
from loaxa.wire_time import utcnow

DEVICE = "loa-1"
NO_NTP = '\n[clock]\nntp_server = ""\nuse_chrony = false\n'


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "agents" / DEVICE / "media"
    mount.mkdir(parents=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_is_reported_and_nothing_broken_plays(system, broker, small_disk, tmp_path):
    signer = Signer.generate()
    clip = make_clip(tmp_path / "store", 5.0)
    server = MediaServer(clip.path.parent)
    listener = Listener(broker, protocol.state_topic(DEVICE))
    try:
        agent = system.agent(DEVICE, protocol.public_key_to_text(signer.public_key), server.url, extra_toml=NO_NTP)
        item = play_item("kin-dia", clip, utcnow() + timedelta(seconds=6))
        listener.publish(protocol.plan_topic(DEVICE), sealed_plan(signer, DEVICE, 1, (item,)), retain=True)

        def full_state():
            payloads = listener.on(protocol.state_topic(DEVICE))
            state = protocol.decode(payloads[-1], DeviceState) if payloads else None
            return state if state and "disk_full" in state.faults else None

        state = wait_for(full_state, timeout=20, what="disk_full in the retained state")
        assert not state.media_ready and clip.sha256 in state.missing_media
        assert not list(small_disk.glob("*.ogg"))  # nothing half-written was cached

        def events():
            with agent.db() as conn:
                return [json.loads(r[0]) for r in conn.execute("SELECT payload FROM outbox ORDER BY seq")]

        failed = wait_for(lambda: [e for e in events() if e["kind"] == "failed" and e.get("item_id") == "kin-dia"],
                          timeout=30, what="the play recorded as failed")
        assert failed[0]["reason"] == "media_missing"
        assert any(e["kind"] == "failed" and e.get("reason") == "disk_full" for e in events())
        assert agent.plays() == []
    finally:
        listener.close()
        server.close()
