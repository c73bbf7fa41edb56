"""``loaxa demo`` runs the whole system and plays a bulletin on its three simulated speakers."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys

from controller.devtools.broker_runner import free_port
from edge_agent.config import AgentConfig
from loaxa.config import load_config
from support.harness import ROOT, wait_for


def test_demo_plays_a_scheduled_bulletin_on_three_agents_and_stops_cleanly(tmp_path):
    port = free_port()
    out = tmp_path / "demo.out"
    demo = subprocess.Popen([sys.executable, "-m", "loaxa", "demo", "--dir", str(tmp_path / "demo"), "--port", str(port),
                             "--outage-after", "32", "--outage-for", "10"],
                            stdout=open(out, "wb"), stderr=subprocess.STDOUT)
    try:
        text = wait_for(lambda: "Press Ctrl-C" in out.read_text() and out.read_text(), timeout=60, what="demo ready")
        token = re.search(r"LOAXA_TOKEN=(lx_\S+)", text).group(1)
        approver = re.search(r"LOAXA_APPROVER_TOKEN=(lx_\S+)", text).group(1)
        accounts = dict(re.findall(r"^  (editor|approver|admin|auditor) +(\S+) +password \S+", text, re.M))
        assert accounts == {"editor": "canbo", "approver": "chutich", "admin": "demo-admin", "auditor": "kiemtra"}
        url = f"http://127.0.0.1:{port}"
        env = {"LOAXA_TOKEN": token, "PATH": "/usr/bin:/bin"}
        assert "two_person_rule = true" in (tmp_path / "demo" / "controller.toml").read_text()
        added = subprocess.run([sys.executable, "-m", "loaxa", "bulletin", "add", str(ROOT / "docs/samples/thong-bao-mau.txt"),
                                "--at", "+15s", "--targets", "xa-tan-lap", "--url", url],
                               capture_output=True, text=True, env=env)
        assert added.returncode == 0 and "status: pending_approval" in added.stdout, added.stderr
        bc_id = re.search(r"broadcast (bc-\S+)", added.stdout).group(1)
        approved = subprocess.run([sys.executable, "-m", "loaxa", "broadcast", "approve", bc_id, "--url", url],
                                  capture_output=True, text=True, env=dict(env, LOAXA_TOKEN=approver))
        assert approved.returncode == 0, approved.stderr
        sinks = [tmp_path / "demo" / "agents" / d / "sink" / "plays.jsonl" for d in ("loa-dong-1", "loa-dong-2", "loa-tay-1")]
        wait_for(lambda: all(s.exists() and s.read_text().strip() for s in sinks), timeout=40, what="three plays")
        plays = [json.loads(s.read_text().splitlines()[0]) for s in sinks]
        assert len({p["sha256"] for p in plays}) == 1
        assert all(abs(p["actual_start"] - p["planned"]) < 0.2 for p in plays)
        for device in ("loa-dong-1", "loa-dong-2", "loa-tay-1"):  # the demo asks no public NTP server
            config = load_config(AgentConfig, tmp_path / "demo" / f"agent-{device}.toml", env={})
            assert config.clock.ntp_server == "" and config.clock.same_clock_as_controller
            assert "clock offset +0.0 ms (local)" in (tmp_path / "demo" / f"agent-{device}.log").read_text()
        from controller.cli_http.client import ApiClient

        api = ApiClient(url, token=approver)
        clusters = {f["properties"]["device_id"]: f["properties"] for f in api.get("/api/map")["features"]
                    if f["properties"]["layer"] == "device"}
        assert {d: c["placed"] for d, c in clusters.items()} == dict.fromkeys(("loa-dong-1", "loa-dong-2", "loa-tay-1"),
                                                                              "device"), "the demo's map has its poles"
        wait_for(lambda: "loa-tay-1 switched off on purpose" in out.read_text(), timeout=90, what="the planned outage")
        wait_for(lambda: not api.get("/api/devices/loa-tay-1")["online"], timeout=30, what="the speaker switched off")
        wait_for(lambda: api.get("/api/devices/loa-tay-1")["online"], timeout=90, what="the speaker back on")
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            rc = demo.wait(timeout=60)
        except subprocess.TimeoutExpired:
            demo.kill()
            raise AssertionError("the demo did not stop within 60 s of Ctrl-C:\n" + out.read_text()[-2000:])
    assert rc == 0
    assert "Stopping the demo" in out.read_text()
