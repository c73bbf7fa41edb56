"""Staged rollouts from a real controller to real installed agents: releases published with
``loaxa fleet publish``, a canary that updates and a wave after it, a canary that fails (a
release that crashes at start-up) pausing the rollout, fleet rollback in one action, and
remote care (diagnostics, speaker check, restart)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from controller.cli_http.client import ApiError
from support.harness import wait_for
from support.release_rig import Supervised, agent_config, install_agent, signed_releases
from support.tree import seed_commune
from loaxa.protocol import public_key_to_text

DEVICES = {"loa-a": "thon-a", "loa-b": "thon-b"}


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    return signed_releases(tmp_path_factory, "fleet-releases", ("0.1.0", "0.2.0"), crashing=("0.3.0",))


@pytest.fixture
def fleet(system, releases, tmp_path):
    release_key = public_key_to_text(releases.signer.public_key)
    with ThreadPoolExecutor(len(DEVICES)) as pool:  # the poles are installed while the controller starts
        installing = {d: pool.submit(install_agent, tmp_path / d, releases.dir / "0.1.0", release_key) for d in DEVICES}
        ctl = system.controller(extra_toml=f'\n[fleet]\nrelease_public_key = "{release_key}"\ntick_s = 0.5\n'
                                           "wave_timeout_s = 240\n")
        for v in ("0.1.0", "0.2.0", "0.3.0"):
            ctl.loaxa_cli("fleet", "publish", str(releases.dir / v))
        seed_commune(ctl.api, DEVICES)
        key = ctl.api.get("/api/pubkey")["public_key"]
        trees = {d: f.result() for d, f in installing.items()}
    agents = {}
    for device, tree in trees.items():
        root = tmp_path / device
        cfg = agent_config(tmp_path / f"{device}.toml", device, root / "var" / "lib" / "loaxa-agent", tree, key,
                           release_key, ctl.url, system.broker.port)
        agents[device] = Supervised(tree, cfg, tmp_path / f"{device}.log")
    try:
        yield ctl, agents
    finally:
        for a in agents.values():
            a.stop()


def versions(ctl) -> dict[str, tuple[str, str]]:
    return {d["id"]: (d["agent_version"], d["update_state"]) for d in ctl.api.get("/api/fleet/devices") if d["online"]}


def rollout_done(ctl, rid: int, status: str) -> dict | None:
    ro = ctl.api.get(f"/api/rollouts/{rid}")
    return ro if ro["status"] == status else None


def test_canary_then_wave_a_failing_canary_pauses_and_fleet_rollback_is_one_action(fleet):
    ctl, agents = fleet
    assert [r["version"] for r in ctl.api.get("/api/releases")] == ["0.3.0", "0.2.0", "0.1.0"]
    wait_for(lambda: versions(ctl) == {d: ("0.1.0", "") for d in DEVICES}, timeout=90, what="both agents on 0.1.0")

    ro = ctl.api.post("/api/rollouts", {"release": "0.2.0", "targets": ["xa"], "canary_share": 0.5, "waves": 1})
    assert [(d["device_id"], d["wave"]) for d in ro["devices"]] == [("loa-a", 0), ("loa-b", 1)]
    done = wait_for(lambda: rollout_done(ctl, ro["id"], "done"), timeout=300,
                    what=f"rollout of 0.2.0 done ({ctl.log()[-1500:]})")
    assert {d["device_id"]: d["status"] for d in done["devices"]} == {"loa-a": "updated", "loa-b": "updated"}
    wait_for(lambda: versions(ctl) == {d: ("0.2.0", "updated") for d in DEVICES}, timeout=60, what="both on 0.2.0")

    # A release whose canary crashes: rolled back on the canary, the rollout pauses, loa-b is untouched.
    bad = ctl.api.post("/api/rollouts", {"release": "0.3.0", "targets": ["loa-a", "loa-b"], "canary_share": 0.5})
    paused = wait_for(lambda: rollout_done(ctl, bad["id"], "paused"), timeout=300,
                      what=f"rollout of 0.3.0 paused ({agents['loa-a'].log()[-1500:]})")
    status = {d["device_id"]: d for d in paused["devices"]}
    assert status["loa-a"]["status"] == "failed" and "rolled_back" in status["loa-a"]["reason"]
    assert status["loa-b"]["status"] == "pending" and status["loa-b"]["sends"] == 0
    assert "1/1" in paused["reason"]
    wait_for(lambda: versions(ctl).get("loa-a") == ("0.2.0", "rolled_back"), timeout=60, what="canary back on 0.2.0")
    fleet_page = {d["id"]: d for d in ctl.api.get("/api/fleet/devices")}
    assert fleet_page["loa-a"]["last_update"]["kind"] == "update_failed"

    # Fleet rollback of the first rollout: one action sends every device back to 0.1.0.
    back = ctl.api.post(f"/api/rollouts/{done['id']}/rollback", {})["rollbacks"]
    assert [r["version"] for r in back] == ["0.1.0"]
    wait_for(lambda: rollout_done(ctl, back[0]["id"], "done"), timeout=300, what="fleet rollback done")
    wait_for(lambda: versions(ctl) == {d: ("0.1.0", "updated") for d in DEVICES}, timeout=60, what="both on 0.1.0")
    assert ctl.api.get(f"/api/rollouts/{done['id']}")["status"] == "rolled_back"
    with ctl.db() as conn:
        actions = [r[0] for r in conn.execute("SELECT action FROM audit_log WHERE action LIKE 'fleet_%' ORDER BY id")]
    assert actions == ["fleet_rollout", "fleet_rollout", "fleet_rollout_paused", "fleet_rollback"]


def test_remote_care_diagnostics_speaker_check_and_restart(fleet):
    ctl, agents = fleet
    wait_for(lambda: "loa-a" in versions(ctl), timeout=90, what="loa-a online")
    ctl.api.post("/api/devices/loa-a/care", {"action": "diagnostics"})
    diag = wait_for(lambda: ctl.api.get("/api/devices/loa-a/diagnostics"), timeout=60, what="diagnostics uploaded")
    body = diag[0]["body"]
    assert body["agent_version"] == "0.1.0" and body["releases"]["current"] == "releases/0.1.0"
    assert body["store"]["db_bytes"] > 0 and any("agent" in line for line in body["log"])
    assert diag[0]["size"] <= 200 * 1024

    check = ctl.api.post("/api/devices/loa-a/care", {"action": "speaker_check", "volume": 60})
    history = wait_for(lambda: ctl.api.get("/api/devices/loa-a/speaker-checks"), timeout=60, what="speaker check played")
    assert history[0]["item_id"] == check["item_id"] and history[0]["kind"] == "finished"
    wait_for(lambda: any(d["id"] == "loa-a" and d["online"] for d in ctl.api.get("/api/fleet/devices")), what="online")

    starts = len(agents["loa-a"].starts())
    ctl.api.post("/api/devices/loa-a/care", {"action": "restart_agent"})
    wait_for(lambda: len(agents["loa-a"].starts()) == starts + 1, timeout=60, what="agent restarted by the supervisor")
    with ctl.db() as conn:
        actions = [r[0] for r in conn.execute("SELECT action FROM audit_log WHERE action LIKE 'device_%' ORDER BY id")]
    care = ("device_diagnostics", "device_speaker_check", "device_restart_agent")
    assert [a for a in actions if a in care] == list(care)
    with pytest.raises(ApiError) as refused:
        ctl.api.post("/api/devices/loa-a/care", {"action": "format_disk"})
    assert refused.value.status == 400 and refused.value.code == "invalid_action"
