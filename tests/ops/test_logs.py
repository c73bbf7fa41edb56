"""Structured logs: lines about a device or broadcast carry their ids, as text tags or JSON fields."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import threading
from datetime import timedelta

import pytest

from support.harness import wait_for

from support.tree import seed_commune
from loaxa.logs import log_context, resolve_format, setup_logging
from loaxa.wire_time import format_time, utcnow


@pytest.fixture
def capture():
    """Route logging through :func:`setup_logging` into a buffer; restore the root logger afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    buffers: list[io.StringIO] = []

    def configure(fmt: str = "text") -> io.StringIO:
        buffers.append(io.StringIO())
        setup_logging(False, fmt, stream=buffers[-1])
        return buffers[-1]

    yield configure
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in saved[0]:
        root.addHandler(h)
    root.setLevel(saved[1])


def test_text_lines_carry_the_ids_of_their_context_and_extra(capture):
    out = capture("text")
    log = logging.getLogger("loaxa.test")
    log.info("outside")
    with log_context(device_id="loa-1"):
        log.info("plan applied")
        with log_context(broadcast_id="bc-7", item_id="bc-7@1"):
            log.info("started")
        log.info("event", extra={"broadcast_id": "bc-9"})
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            log.exception("failed")
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("loaxa.test: outside")
    assert lines[1].endswith("plan applied device=loa-1")
    assert lines[2].endswith("started device=loa-1 broadcast=bc-7 item=bc-7@1")
    assert lines[3].endswith("event device=loa-1 broadcast=bc-9")
    assert lines[4].endswith("failed device=loa-1") and lines[5] == "Traceback (most recent call last):"


def test_contexts_of_threads_do_not_mix(capture):
    out = capture("json")
    log = logging.getLogger("loaxa.test")
    barrier = threading.Barrier(2)

    def work(device: str) -> None:
        with log_context(device_id=device):
            barrier.wait(timeout=5)
            log.info("working on %s", device)

    threads = [threading.Thread(target=work, args=(d,)) for d in ("loa-1", "loa-2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert sorted((r["device"], r["message"]) for r in records) == [
        ("loa-1", "working on loa-1"), ("loa-2", "working on loa-2")]
    assert {r["level"] for r in records} == {"INFO"} and all(r["time"].endswith("+00:00") for r in records)


def test_the_format_comes_from_the_flag_then_the_environment(monkeypatch):
    monkeypatch.setenv("LOAXA_LOG_FORMAT", "JSON")
    assert resolve_format() == "json" and resolve_format("text") == "text"
    monkeypatch.setenv("LOAXA_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="unknown log format 'xml'"):
        resolve_format()
    out = subprocess.run([sys.executable, "-m", "loaxa", "retention", "run"], capture_output=True, text=True,
                         env={"LOAXA_LOG_FORMAT": "xml", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 2 and "use one of text, json" in out.stderr


def test_a_play_is_logged_with_its_device_and_broadcast_by_controller_and_agent(system):
    ctl = system.controller(start=False)
    ctl.cmd = [*ctl.cmd[:3], "--log-format", "json", *ctl.cmd[3:]]  # python -m loaxa --log-format json controller -c …
    ctl.start()
    api = ctl.api
    seed_commune(api, {"loa-1": "thon-a"})
    agent = system.agent("loa-1", api.get("/api/pubkey")["public_key"], ctl.url)  # text, the default
    wait_for(lambda: api.get("/api/devices/loa-1")["online"], what="agent online")
    bulletin = api.post("/api/bulletins", {"title": "Họp", "text": "Họp dân lúc tám giờ."})
    bc = api.post("/api/broadcasts", {"bulletin_id": bulletin["id"], "targets": ["thon-a"],
                                      "starts_at": format_time(utcnow() + timedelta(seconds=4))})
    ctl.user_api("chu-tich").post(f"/api/broadcasts/{bc['id']}/approve", {"comment": "Đồng ý"})
    wait_for(lambda: api.get(f"/api/playback?broadcast={bc['id']}&kind=finished"), timeout=30,
             what="finished event stored")
    agent.stop()
    ctl.stop()

    records = [json.loads(line) for line in ctl.log().splitlines() if line.strip()]  # every line is JSON
    stored = [r for r in records if r["logger"] == "controller.devices.ingest" and r["message"].startswith("event #")
              and r["message"].split()[2] in ("started", "finished")]
    assert len(stored) == 2, records
    assert all(r["device"] == "loa-1" and r["broadcast"] == bc["id"] for r in stored), stored

    lines = agent.log().splitlines()
    applied = [line for line in lines if "applied plan" in line]
    assert applied and all(line.endswith("device=loa-1") for line in applied)
    played = [line for line in lines if " event #" in line and (" started " in line or " finished " in line)]
    assert len(played) == 2, lines
    assert all(f"device=loa-1 broadcast={bc['id']} item=" in line for line in played), played
