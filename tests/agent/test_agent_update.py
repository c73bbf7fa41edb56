"""Signed agent updates on real parts: releases built from this checkout, a real mosquitto,
real agents installed under a temporary root as ``loaxa install agent`` lays them out, run by a
supervisor that does what the systemd unit does (guard, start, restart)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from agent_rig import make_clip, play_item, sealed_command, sealed_plan
from harness import Listener, wait_for
from loaxa import protocol
from loaxa.protocol import DeviceState, Signer, public_key_to_text, utcnow
from release_rig import Releases, ReleaseServer, Supervised, crashing_source, install_agent

DEVICE = "loa-up"


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    """0.1.0 (this checkout), 0.2.0 (the same, bumped) and 0.3.0 (crashes at start-up)."""
    tmp = tmp_path_factory.mktemp("releases")
    key = tmp / "release.pem"
    from loaxa.release_build import keygen

    r = Releases(tmp / "store", key, keygen(key))
    r.build("0.1.0")
    r.build("0.2.0")
    r.build("0.3.0", source=crashing_source(tmp))
    return r


def agent_config(path: Path, data_dir: Path, tree: Path, controller_key: str, release_key: str, url: str,
                 broker_port: int, media_dir: Path) -> Path:
    path.write_text(
        f'device_id = "{DEVICE}"\ndata_dir = "{data_dir}"\ncontroller_url = "{url}"\n'
        f'controller_public_key = "{controller_key}"\nrelease_public_key = "{release_key}"\nstate_interval_s = 5\n\n'
        f"[mqtt]\nport = {broker_port}\n\n[player]\nbackend = \"file\"\n\n[relay]\npin = \"GPIO17\"\npin_factory = \"mock\"\n\n"
        '[clock]\nntp_server = ""\nuse_chrony = false\n\n'
        f'[update]\ninstall_root = "{tree}"\nhealth_timeout_s = 60\nquiet_before_item_min = 0.1\nmax_starts = 3\n'
    )
    return path


def last_state(listener: Listener) -> DeviceState | None:
    msgs = listener.on(protocol.state_topic(DEVICE))
    return protocol.decode(msgs[-1], DeviceState) if msgs else None


def outbox(data_dir: Path, kind: str) -> list[dict]:
    import sqlite3

    with sqlite3.connect(data_dir / "agent.db") as conn:
        rows = conn.execute("SELECT payload FROM outbox ORDER BY seq").fetchall()
    return [e for e in (json.loads(r[0]) for r in rows) if e["kind"] == kind]


def test_update_to_a_bumped_release_then_a_crashing_one_rolls_back_and_keeps_playing(tmp_path, broker, releases):
    server = ReleaseServer(releases.dir, media=tmp_path / "media")
    controller = Signer.generate()
    release_key = public_key_to_text(releases.signer.public_key)
    tree = install_agent(tmp_path / "root", releases.dir / "0.1.0", release_key)
    assert (tree / "current").readlink() == Path("releases/0.1.0")
    data_dir = tmp_path / "root" / "var" / "lib" / "loaxa-agent"
    cfg = agent_config(tmp_path / "agent.toml", data_dir, tree, public_key_to_text(controller.public_key),
                       release_key, server.url, broker.port, tmp_path / "media")
    listener = Listener(broker, protocol.state_topic(DEVICE))
    agent = Supervised(tree, cfg, tmp_path / "agent.log")
    try:
        wait_for(lambda: (s := last_state(listener)) and s.online and s.agent_version == "0.1.0", timeout=60,
                 what="agent 0.1.0 online")

        # 1. A signed update command: 0.1.0 -> 0.2.0, and the version it reports changes.
        listener.publish(protocol.cmd_topic(DEVICE), sealed_command(controller, f"dev/{DEVICE}", 1, "update",
                                                                    release="0.2.0"))
        wait_for(lambda: (s := last_state(listener)) and s.agent_version == "0.2.0" and s.update_state == "updated",
                 timeout=180, what=f"agent on 0.2.0 (log: {agent.log()[-2000:]})")
        assert (tree / "current").readlink() == Path("releases/0.2.0")
        assert [e["reason"] for e in outbox(data_dir, "updated")] == ["0.1.0 → 0.2.0"]
        assert json.loads((tree / "update.json").read_text())["state"] == "confirmed"
        downloaded = sum(n for p, n in server.sent.items() if p.startswith("/releases/0.2.0/"))
        assert downloaded >= sum(f.stat().st_size for f in (releases.dir / "0.2.0").glob("*.whl"))

        # 2. A plan, then a release that crashes at start-up: the guard rolls it back after
        #    three starts, 0.2.0 reports update_failed and plays the plan.
        clip = make_clip(tmp_path / "media", 1.0)
        start = utcnow() + timedelta(seconds=40)
        listener.publish(protocol.plan_topic(DEVICE), sealed_plan(controller, DEVICE, 1, (play_item("a", clip, start),)),
                         retain=True)
        wait_for(lambda: (s := last_state(listener)) and s.plan_version == 1, what="plan applied")
        listener.publish(protocol.cmd_topic(DEVICE), sealed_command(controller, f"dev/{DEVICE}", 2, "update",
                                                                    release="0.3.0"))
        wait_for(lambda: outbox(data_dir, "update_failed"), timeout=180,
                 what=f"rollback reported (log: {agent.log()[-3000:]})")
        failed = outbox(data_dir, "update_failed")[0]
        assert "rolled_back" in failed["reason"] and "0.3.0" in failed["reason"]
        assert (tree / "current").readlink() == Path("releases/0.2.0")
        crashed = [s for s in agent.starts() if s["target"] == "releases/0.3.0"]
        assert len(crashed) == 3, agent.starts()
        wait_for(lambda: (s := last_state(listener)) and s.online and s.agent_version == "0.2.0"
                 and s.update_state == "rolled_back", timeout=60, what="0.2.0 back online")
        assert "this release crashes at start-up" in agent.log()
        plays = data_dir / "sink" / "plays.jsonl"
        wait_for(lambda: plays.exists() and '"a"' in plays.read_text(), timeout=90, what="the planned item played")
        played = [json.loads(x) for x in plays.read_text().splitlines()]
        assert [p["item_id"] for p in played] == ["a"]
    finally:
        agent.stop()
        listener.close()
        server.close()
