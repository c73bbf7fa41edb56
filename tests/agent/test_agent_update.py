"""Signed agent updates on real parts: releases built from this checkout, a real mosquitto,
real agents installed under a temporary root as ``loaxa install agent`` lays them out, run by a
supervisor that does what the systemd unit does (guard, start, restart)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from support.agent_rig import make_clip, play_item, sealed_command, sealed_plan
from support.harness import Listener, wait_for
from loaxa import protocol
from loaxa.protocol import DeviceState, Signer, public_key_to_text
from loaxa.wire_time import utcnow
from support.release_rig import ReleaseServer, Supervised, agent_config, install_agent, signed_releases

DEVICE = "loa-up"


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    """0.1.0 (this checkout), 0.2.0 (the same, bumped) and 0.3.0 (crashes at start-up)."""
    return signed_releases(tmp_path_factory, "releases", ("0.1.0", "0.2.0"), crashing=("0.3.0",))


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
    cfg = agent_config(tmp_path / "agent.toml", DEVICE, data_dir, tree, public_key_to_text(controller.public_key),
                       release_key, server.url, broker.port)
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
        start = utcnow() + timedelta(seconds=28)  # after the three crashing starts and the rollback
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


# --- refusals: a clear reason and no change ---------------------------------------------


class Rig:
    """An updater on real parts (SQLite store, HTTP, a laid-out tree) running 0.2.0."""

    def __init__(self, tmp_path: Path, served: Path, release_key: str, floor: str = ""):
        from edge_agent.config import UpdateSettings
        from edge_agent.store import AgentStore
        from edge_agent.updater import FLOOR_KEY, Updater
        from loaxa.agent_layout import Layout

        self.tree = tmp_path / "tree"
        self.layout = Layout(self.tree)
        self.layout.release_dir("0.2.0").mkdir(parents=True)
        self.layout.switch("releases/0.2.0")
        self.server = ReleaseServer(served)
        self.store = AgentStore(tmp_path / "agent.db")
        if floor:
            self.store.set(FLOOR_KEY, floor)
        self.events: list[tuple[str, dict]] = []
        self.restarts = 0
        self.updater = Updater(UpdateSettings(install_root=self.tree), self.store, release_key, self.server.url, None,
                               "0.2.0", emit=lambda kind, item, **f: self.events.append((kind, f)), busy=lambda: "",
                               checks=lambda: {}, restart=self._restart, changed=lambda: None)

    def _restart(self) -> None:
        self.restarts += 1

    def refused(self, version: str) -> str:
        from loaxa.release import ReleaseRefused

        with pytest.raises(ReleaseRefused) as exc:
            self.updater.install(version)
        assert self.layout.current_target() == "releases/0.2.0" and self.restarts == 0
        assert not self.layout.release_dir(version).exists() and not self.layout.marker.exists()
        return exc.value.reason

    def close(self) -> None:
        self.server.close()
        self.store.close()


@pytest.fixture
def served(tmp_path, releases):
    """A copy of release 0.3.0 that a test may spoil."""
    import shutil

    shutil.copytree(releases.dir / "0.3.0", tmp_path / "srv" / "0.3.0")
    return tmp_path / "srv"


def test_unsigned_tampered_foreign_and_downgraded_releases_are_refused(tmp_path, releases, served):
    from loaxa.release import MANIFEST_NAME
    from loaxa.release_build import sign

    key = public_key_to_text(releases.signer.public_key)
    rig = Rig(tmp_path, served, key)
    try:
        manifest = served / "0.3.0" / MANIFEST_NAME
        signed = manifest.read_bytes()
        env = json.loads(signed)
        manifest.write_bytes(json.dumps({k: v for k, v in env.items() if k != "sig"}).encode())
        assert rig.refused("0.3.0") == "unsigned"
        env["body"]["notes"] = "đã sửa"  # a signed manifest edited afterwards
        manifest.write_bytes(json.dumps(env).encode())
        assert rig.refused("0.3.0") == "bad_signature"
        other = tmp_path / "other.pem"
        other.write_bytes(Signer.generate().private_pem())
        sign(served / "0.3.0", other)  # signed, but with a key this device never pinned
        assert rig.refused("0.3.0") == "unknown_key"
        manifest.write_bytes(signed)
        rig.server.tamper = "loaxa_agent"
        assert rig.refused("0.3.0") == "tampered"
        assert not list((rig.layout.downloads / "0.3.0").glob("loaxa_agent*"))  # the tampered file is not kept
    finally:
        rig.close()
    floored = Rig(tmp_path / "floor", releases.dir, key, floor="0.2.0")
    try:
        assert floored.refused("0.1.0") == "downgrade"
        floored.updater.request("0.1.0")  # the same through the worker: reported as update_failed
        floored.updater.start()
        wait_for(lambda: floored.events, what="update_failed event")
        kind, fields = floored.events[0]
        assert kind == "update_failed" and fields["reason"].startswith("downgrade: release 0.1.0 is below")
        assert floored.updater.state == "failed"
        floored.updater.stop()
    finally:
        floored.close()


def test_a_release_signed_by_a_retired_release_key_is_refused(tmp_path, releases, served):
    from loaxa.release import KEYS_NAME
    from loaxa.release_build import keygen, rollover, sign

    next_key = tmp_path / "next.pem"
    keygen(next_key)
    (tmp_path / "roll-1.json").write_bytes(rollover(releases.key_path, next_key, 1))
    sign(served / "0.3.0", releases.key_path, (tmp_path / "roll-1.json",))  # old key, with the chain that retires it
    assert (served / "0.3.0" / KEYS_NAME).exists()
    rig = Rig(tmp_path, served, public_key_to_text(releases.signer.public_key))
    try:
        assert rig.refused("0.3.0") == "retired_key"
        assert rig.updater.keys.retired_kids == (releases.signer.kid,)
        assert [k for k, _ in rig.events] == ["security"]  # the rollover itself was applied and reported
        sign(served / "0.3.0", next_key, (tmp_path / "roll-1.json",))
        manifest, _ = rig.updater._manifest("0.3.0")  # the next key's signature is accepted
        assert manifest.version == "0.3.0"
    finally:
        rig.close()


def test_the_guard_counts_starts_and_rolls_back_a_trial_that_never_gets_healthy(tmp_path):
    from loaxa.agent_layout import Layout, guard

    layout = Layout(tmp_path)
    for v in ("0.1.0", "0.2.0"):
        layout.release_dir(v).mkdir(parents=True)
    layout.switch("releases/0.2.0")
    layout.write_marker({"state": "trial", "version": "0.2.0", "from_target": "releases/0.1.0",
                         "to_target": "releases/0.2.0", "starts": 0, "max_starts": 2, "deadline": 2e9})
    assert guard(layout) == "trial of 0.2.0: start 1"
    assert guard(layout) == "trial of 0.2.0: start 2"
    assert guard(layout) == "rolled back to releases/0.1.0"
    assert layout.current_target() == "releases/0.1.0"
    marker = layout.read_marker()
    assert marker["state"] == "rolled_back" and marker["reported"] is False and "2 starts" in marker["reason"]
    assert guard(layout) == "nothing to do"
    layout.switch("releases/0.2.0")
    layout.write_marker(dict(marker, state="trial", starts=0, deadline=1.0))  # past its deadline
    assert guard(layout) == "rolled back to releases/0.1.0"
