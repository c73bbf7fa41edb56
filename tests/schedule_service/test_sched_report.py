"""The compliance report and the logbook after a real programme: real mosquitto, controller and agents.

Items of one programme play back to back, so every item after the first starts minutes or
seconds after the slot; the report must still find each play by its item id.
"""

from __future__ import annotations

from datetime import timedelta

from controller.config import ControllerConfig
from controller.db import Database
from controller.plans.guardrail_store import GuardrailStore
from controller.reports.logbook import occurrences
from loaxa.config import load_config
from support.harness import SPEECH_ONLY_AUDIO, wait_for
from support.schedule_api import bulletin, schedule, setup, soon
from loaxa.local_time import to_local

TEXTS = ("Thông báo thứ nhất về lịch họp dân ở nhà văn hóa thôn.",
         "Thông báo thứ hai về lịch tiêm phòng cho trẻ em.",
         "Thông báo thứ ba về thu gom rác thải.")


def test_every_item_of_a_back_to_back_programme_is_reported_played(system):
    ctl = system.controller(audio_toml=SPEECH_ONLY_AUDIO)
    api, key = setup(ctl, {"loa-1": "thon-a", "loa-2": "thon-b"})  # loa-2 never comes online: its plays are missed
    agent = system.agent("loa-1", key, ctl.url)
    rendered = [bulletin(api, text, f"Bản tin {i + 1}") for i, text in enumerate(TEXTS)]
    cancelled = bulletin(api, "Thông báo bị hủy trước giờ phát.", "Bản tin hủy")
    at = soon(10)  # four schedules and a cancel go out before it
    items = [schedule(api, b["id"], at) for b in rendered]
    dropped = schedule(api, cancelled["id"], at)
    api.post(f"/api/broadcasts/{dropped['id']}/cancel", {})

    plays = wait_for(lambda: len(agent.plays()) >= 3 and agent.plays(), timeout=60, what="the programme played")
    starts = sorted(p["actual_start"] for p in plays)
    assert starts[-1] - starts[0] > 2, "the items played one after another"
    played = {p["broadcast_id"] for p in plays}
    assert played == {bc["id"] for bc in items}
    wait_for(lambda: len([e for e in api.get("/api/playback?kind=finished&device=loa-1")]) >= 3, timeout=20,
             what="the finished events reached the controller")

    day = to_local(at).date().isoformat()
    logbook = api.get(f"/api/audit/logbook?week={day}&unit=xa")
    mine = [r for r in logbook["rows"] if r["device"].endswith("(loa-1)")]
    status = {r["title"]: r["status"] for r in mine}
    assert status == {"Bản tin 1": "Đã phát", "Bản tin 2": "Đã phát", "Bản tin 3": "Đã phát",
                      "Bản tin hủy": "Đã hủy"}, mine
    assert all(r["actual"] for r in mine if r["status"] == "Đã phát")

    report = api.get(f"/api/audit/compliance?from={day}&to={day}&unit=xa")
    assert not [m for m in report["missed"] if m["device_id"] == "loa-1"], report["missed"]
    village = {c["unit_id"]: c for c in report["compliance"]}["thon-a"]
    assert (village["planned"], village["played"], village["missed"], village["rate"]) == (3, 3, 0, 1.0)

    # a minute after the programme the offline pole's items are missed; the cancelled one is not counted
    config = load_config(ControllerConfig, system.root / "controller.toml")
    db = Database(config.db_path)
    try:
        later = at + timedelta(minutes=5)
        occ = occurrences(db, GuardrailStore(db, config.schedules).policy(), ["loa-1", "loa-2"],
                          at - timedelta(hours=1), later, now=later)
    finally:
        db.close()
    by = {(o.device_id, o.broadcast_id): o.status for o in occ}
    for bc in items:
        assert by[("loa-1", bc["id"])] == "finished"
        assert by[("loa-2", bc["id"])] == "missed"
    assert by[("loa-1", dropped["id"])] == by[("loa-2", dropped["id"])] == "cancelled"
    assert len({o.item_id for o in occ if o.device_id == "loa-1"}) == 4
