"""Reboot a pole by remote care, end to end on real parts.

The signed ``reboot`` command goes from a real controller through mosquitto to a real agent
installed under a temporary root as ``loaxa install agent`` lays it out.  The agent has no
sudo: it leaves the request file the installer's ``loaxa-agent-reboot.path`` unit watches.
Here the supervisor stand-in plays that unit and systemd: it removes the request, stops the
agent as a shutdown does and starts it again.  The agent comes back with a new start time
in its state, the controller audits the order and the return and keeps it in the device's
history, and the agent plays the plan it had before the reboot.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from support.harness import wait_for
from support.release_rig import Supervised, agent_config, install_agent, signed_releases
from support.schedule_api import bulletin, plays_of, schedule, setup
from loaxa.protocol import public_key_to_text
from loaxa.wire_time import parse_time, utcnow

DEVICE = "loa-a"


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    return signed_releases(tmp_path_factory, "reboot-release", ("0.1.0",))


class Installed:
    """The supervised agent with what a test reads of it: its sink, its starts."""

    def __init__(self, supervised: Supervised, data_dir):
        self.supervised = supervised
        self.data_dir = data_dir
        self.sink = data_dir / "sink" / "plays.jsonl"

    def plays(self) -> list[dict]:
        import json

        return [json.loads(x) for x in self.sink.read_text().splitlines() if x.strip()] if self.sink.exists() else []


def test_a_signed_reboot_restarts_the_installed_agent_which_reports_is_audited_and_keeps_its_plan(system, releases,
                                                                                                    tmp_path):
    release_key = public_key_to_text(releases.signer.public_key)
    ctl = system.controller(extra_toml=f'\n[fleet]\nrelease_public_key = "{release_key}"\n')
    api, key = setup(ctl, {DEVICE: "thon-a"})
    root = tmp_path / "root"
    tree = install_agent(root, releases.dir / "0.1.0", release_key)
    units = root / "etc" / "systemd" / "system"
    # The narrowly allowed path: the agent may only write this file; root's oneshot unit reboots.
    assert "PathExists=/var/lib/loaxa-agent/reboot-requested" in (units / "loaxa-agent-reboot.path").read_text()
    assert "ExecStart=/usr/bin/systemctl --no-block reboot" in (units / "loaxa-agent-reboot.service").read_text()
    data_dir = root / "var" / "lib" / "loaxa-agent"  # /var/lib/loaxa-agent under the temporary root
    cfg = agent_config(tmp_path / "agent.toml", DEVICE, data_dir, tree, key, release_key, ctl.url, system.broker.port)
    flag = data_dir / "reboot-requested"
    agent = Installed(Supervised(tree, cfg, tmp_path / "agent.log", reboot_flag=flag), data_dir)
    try:
        before = wait_for(lambda: (d := api.get(f"/api/devices/{DEVICE}"))["online"] and d["state"].get("started_at")
                          and d, timeout=90, what="the installed agent online with its start time")["state"]
        assert before["agent_version"] == "0.1.0" and before["boot_at"]

        # A plan the agent holds before the reboot, airing after it.
        at = utcnow() + timedelta(seconds=18)  # the reboot and the return take a few seconds of it
        bc = schedule(api, bulletin(api, "Thông báo sau khi khởi động lại.")["id"], at, targets=["thon-a"])
        wait_for(lambda: api.get(f"/api/devices/{DEVICE}")["plan_version_applied"] >= 1
                 and api.get(f"/api/devices/{DEVICE}")["media_ready"], timeout=60, what="the plan applied, media ready")

        starts = len(agent.supervised.starts())
        order = api.post(f"/api/devices/{DEVICE}/care", {"action": "reboot"})
        assert order["action"] == "reboot" and order["command_seq"] > 0
        back = wait_for(lambda: len(s := agent.supervised.starts()) > starts and s[-1], timeout=60,
                        what=f"the supervisor to restart the agent (log: {agent.supervised.log()[-2000:]})")
        assert back["reboot"] is True and not flag.exists()
        assert "reboot requested by test-admin" in agent.supervised.log()
        after = wait_for(lambda: (d := api.get(f"/api/devices/{DEVICE}"))["online"]
                         and d["state"].get("started_at") != before["started_at"] and d["state"], timeout=60,
                         what="the agent back online with a new start time")
        assert parse_time(after["started_at"], "s") > parse_time(before["started_at"], "s")
        assert after["plan_version"] >= 1
        with ctl.db() as conn:
            audit = [(r[0], r[1]) for r in conn.execute(
                "SELECT action, actor FROM audit_log WHERE target = ? AND action IN ('device_reboot', 'device_started') "
                "ORDER BY id", [DEVICE])]
            history = [r[0] for r in conn.execute("SELECT detail FROM device_history WHERE device_id = ? AND kind IN "
                                                  "('started', 'rebooted')", [DEVICE])]
        assert audit == [("device_reboot", "test-admin"), ("device_started", f"device:{DEVICE}")]
        assert history == [after["started_at"]]

        # It keeps playing its plan: the broadcast scheduled before the reboot airs, once, on time.
        play = wait_for(lambda: plays_of(agent, bc["id"]), timeout=90, what="the planned broadcast to play")
        assert len(play) == 1
        assert abs(play[0]["actual_start"] - at.timestamp()) < 2.0
    finally:
        agent.supervised.stop()
