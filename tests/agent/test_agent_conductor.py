"""The conductor on real parts: precise starts on the file sink, the amplifier relay's pin
timeline (gpiozero mock pin), emergency preemption, clock and silence flags."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from support.agent_rig import ConductorRig, make_clip, play_item
from edge_agent.capture import LevelMeter
from edge_agent.config import CaptureSettings, PlayerSettings, RelaySettings
from support.harness import wait_for

WARMUP, TAIL = 0.5, 0.5
ON_TIME_S = 0.1  # loose on a shared machine; bench/bench_agent.py measures the precision


def at(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=timezone.utc)


@pytest.fixture
def rig(tmp_path):
    made: list[ConductorRig] = []

    def make(**kw) -> ConductorRig:
        made.append(ConductorRig(tmp_path / f"rig{len(made)}", **kw))
        return made[-1]

    yield make
    for r in made:
        r.close()


def test_relay_warms_up_before_each_programme_and_rests_between(rig, tmp_path):
    r = rig()
    clip = make_clip(tmp_path / "media", 0.5)
    r.add(clip)
    t0 = datetime.now(timezone.utc).timestamp()
    a1, a2, b1 = t0 + 2.0, t0 + 2.8, t0 + 5.6  # programme A: two items; programme B: one item
    r.items = (play_item("a1", clip, at(a1)), play_item("a2", clip, at(a2)), play_item("b1", clip, at(b1)))
    r.start()
    wait_for(lambda: len(r.kinds("finished")) == 3, timeout=15, what="three plays finished")
    wait_for(lambda: not r.relay.is_on, timeout=5, what="relay off after the tail")

    plays = {p["item_id"]: p["actual_start"] for p in map(__import__("json").loads, r.sink.log_path.read_text().splitlines())}
    for item_id, planned in (("a1", a1), ("a2", a2), ("b1", b1)):
        assert abs(plays[item_id] - planned) < ON_TIME_S
    timeline = r.pin_timeline()
    assert [level for _, level in timeline] == [True, False, True, False]
    (on_a, _), (off_a, _), (on_b, _), (off_b, _) = timeline
    assert a1 - on_a >= WARMUP and a1 - on_a < WARMUP + 0.3
    end_a = plays["a2"] + clip.seconds
    assert TAIL - 0.05 <= off_a - end_a < TAIL + 0.3  # stays on between a1 and a2, off after the tail
    assert b1 - on_b >= WARMUP and b1 - on_b < WARMUP + 0.3  # off between programmes, warm-up again
    assert TAIL - 0.05 <= off_b - (plays["b1"] + clip.seconds) < TAIL + 0.3
    assert [f["actual_start"] for _, f in r.kinds("started")] == [plays["a1"], plays["a2"], plays["b1"]]


def test_active_low_relay_drives_the_pin_low_to_switch_on(rig, tmp_path):
    r = rig(relay_settings=RelaySettings(pin="GPIO27", pin_factory="mock", active_high=False, warmup_s=WARMUP, tail_s=TAIL))
    clip = make_clip(tmp_path / "media", 0.5)
    r.add(clip)
    assert r.pin.state == 1  # off means high on an active-low board
    start = datetime.now(timezone.utc).timestamp() + 1.7
    r.items = (play_item("x", clip, at(start)),)
    r.start()
    wait_for(lambda: r.kinds("finished") and not r.relay.is_on, timeout=10, what="play and tail done")
    assert [level for _, level in r.pin_timeline()] == [False, True]
    assert start - r.pin_timeline()[0][0] >= WARMUP


def test_emergency_interrupts_plays_now_and_the_plan_resumes(rig, tmp_path):
    r = rig(clock_flags=lambda: ["clock_unsynced"])
    long_clip = make_clip(tmp_path / "media", 3.0, freq=300)
    alarm = make_clip(tmp_path / "media", 0.5, freq=900)
    r.add(long_clip)
    r.add(alarm)
    t0 = datetime.now(timezone.utc).timestamp()
    r.items = (play_item("news", long_clip, at(t0 + 1.7)), play_item("after", alarm, at(t0 + 4.5)))
    r.start()
    wait_for(lambda: r.kinds("started"), timeout=5, what="the planned item to start")
    r.conductor.preempt(play_item("flood", alarm, at(t0), priority="emergency"))
    wait_for(lambda: [i.item_id for i, _ in r.kinds("finished")] == ["flood", "after"], timeout=10,
             what="emergency, then the plan")
    [(item, fields)] = r.kinds("interrupted")
    assert item.item_id == "news" and fields["reason"] == "preempted"
    assert 0.0 < fields["duration_s"] < 3.0
    assert [i.item_id for i, _ in r.kinds("started")] == ["news", "flood", "after"]
    assert all("clock_unsynced" in f["flags"] for _, f in r.kinds("started"))


@pytest.mark.parametrize("silent", [False, True])
def test_each_play_reports_the_captured_level(rig, tmp_path, silent):
    heard = make_clip(tmp_path / "heard", 1.0, freq=500, silent=silent)  # what the capture input "hears"
    r = rig(meter=LevelMeter(CaptureSettings(backend="file", device=str(heard.path))))
    clip = make_clip(tmp_path / "media", 1.0)
    r.add(clip)
    r.items = (play_item("x", clip, at(datetime.now(timezone.utc).timestamp() + 1.7)),)
    r.start()
    [(_, fields)] = wait_for(lambda: r.kinds("finished"), timeout=10, what="play finished")
    assert ("silent" in fields.get("flags", [])) is silent
    assert fields["level_dbfs"] < -90 if silent else fields["level_dbfs"] == pytest.approx(-21, abs=2)


def test_items_of_a_programme_play_back_to_back_on_time(rig, tmp_path):
    """The next item decodes while the current one plays, so a gapless programme starts each item on time."""
    r = rig()
    clips = [make_clip(tmp_path / "media", 1.0, freq=f) for f in (300, 400, 500)]
    for c in clips:
        r.add(c)
    t = datetime.now(timezone.utc).timestamp() + 1.7
    items = []
    for n, c in enumerate(clips):
        items.append(play_item(f"p{n}", c, at(t)))
        t += c.seconds
    r.items = tuple(items)
    r.start()
    wait_for(lambda: len(r.kinds("finished")) == 3, timeout=10, what="the programme to finish")
    starts = {i.item_id: f["actual_start"] for i, f in r.kinds("started")}
    for item in items:
        assert abs(starts[item.item_id] - item.start.timestamp()) < ON_TIME_S


def test_playback_thread_asks_for_real_time_priority(rig, caplog):
    """Granted where allowed (LimitRTPRIO in the unit on a Pi); refused, it warns and plays at normal priority."""
    import os
    import resource

    allowed = os.geteuid() == 0 or resource.getrlimit(resource.RLIMIT_RTPRIO)[0] >= 10
    r = rig()
    r.start()
    if allowed:
        wait_for(lambda: os.sched_getscheduler(r.conductor.native_id) & ~os.SCHED_RESET_ON_FORK == os.SCHED_FIFO,
                 timeout=5, what="SCHED_FIFO on the conductor thread")
    else:
        wait_for(lambda: "normal priority" in caplog.text, timeout=5, what="a warning about normal priority")
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # only that thread


def test_a_late_start_still_gets_its_amplifier_warm_up(rig, tmp_path):
    r = rig()
    clip = make_clip(tmp_path / "media", 0.5)
    r.add(clip)
    r.items = (play_item("late", clip, at(datetime.now(timezone.utc).timestamp() - 2.0)),)  # e.g. after a reboot
    r.start()
    [(_, fields)] = wait_for(lambda: r.kinds("finished"), timeout=10, what="the late item to play")
    on_at = r.pin_timeline()[0]
    assert on_at[1] is True
    assert fields["actual_start"] - on_at[0] >= WARMUP - 0.01
    assert "late" in r.kinds("started")[0][1]["flags"]


def test_an_item_whose_file_is_still_coming_gives_way_and_is_skipped_past_its_limit(rig, tmp_path):
    r = rig()
    slow, ready = make_clip(tmp_path / "media", 0.5, freq=300), make_clip(tmp_path / "media", 0.5, freq=600)
    r.add(slow)
    r.add(ready)
    r.pending.add(slow.sha256)
    now = datetime.now(timezone.utc).timestamp()
    limit = now + 2.5
    r.items = (play_item("slow", slow, at(limit - r.player.late_tolerance_s)), play_item("ready", ready, at(now + 1.5)))
    r.start()
    [(item, fields)] = wait_for(lambda: r.kinds("finished"), timeout=10, what="the ready item to play")
    assert item.item_id == "ready" and abs(fields["actual_start"] - (now + 1.5)) < ON_TIME_S
    [(item, fields)] = wait_for(lambda: r.kinds("skipped"), timeout=10, what="the slow item past its limit")
    assert item.item_id == "slow" and fields["reason"] == "media_late"
    r.arrive(slow)  # too late now: it never plays
    assert [i.item_id for i, _ in r.kinds("started")] == ["ready"]


def test_an_item_whose_file_arrives_in_time_plays_late_with_the_flag(rig, tmp_path):
    r = rig()
    clip = make_clip(tmp_path / "media", 0.5)
    r.add(clip)
    r.pending.add(clip.sha256)
    start = datetime.now(timezone.utc).timestamp() + 1.0
    r.items = (play_item("waits", clip, at(start)),)
    r.start()
    wait_for(lambda: time.time() > start + 1.0, what="past the planned instant")
    assert r.kinds("started") == [] and r.kinds("skipped") == []
    r.arrive(clip)
    [(_, fields)] = wait_for(lambda: r.kinds("finished"), timeout=10, what="the item once its file came")
    assert "late" in fields["flags"] and fields["actual_start"] > start + 1.0


def test_a_stop_naming_another_item_leaves_the_playing_one_alone(tmp_path):
    """The controller closing a live session stops that item only: an emergency aired since goes on."""
    rig = ConductorRig(tmp_path / "pole")
    clip = make_clip(tmp_path / "clips", 2.0)
    rig.add(clip)
    rig.items = (play_item("em-1", clip, datetime.now(timezone.utc) + timedelta(seconds=1.5)),)
    rig.start()
    try:
        wait_for(lambda: rig.kinds("started"), timeout=10, what="the emergency on air")
        rig.conductor.stop_command("live_ended", "live-abc")
        wait_for(lambda: rig.kinds("finished") or rig.kinds("interrupted"), timeout=10, what="the emergency's end")
        assert rig.kinds("finished") and not rig.kinds("interrupted")
    finally:
        rig.close()


def test_a_programme_cut_by_an_emergency_resumes_with_its_remaining_items_if_its_slot_allows(rig, tmp_path):
    """The items whose turn came during the emergency play after it, late, while they still fit their slot;
    one whose slot has closed by then is skipped, and the cut item is logged as preempted, by the emergency.

    The late-start tolerance is shorter than the emergency, as a 60 s tolerance is shorter than a
    five-minute flood warning: without the resumption every remaining item would be missed."""
    r = rig(player=PlayerSettings(backend="file", prepare_lead_s=1.0, late_tolerance_s=0.5))
    long_clip = make_clip(tmp_path / "media", 2.0, freq=300)
    short = make_clip(tmp_path / "media", 0.5, freq=600)
    alarm = make_clip(tmp_path / "media", 3.0, freq=900)
    for c in (long_clip, short, alarm):
        r.add(c)
    t0 = datetime.now(timezone.utc).timestamp()
    news_at = t0 + 1.7
    r.items = (
        play_item("news", long_clip, at(news_at), expires_at=at(news_at + 60)),
        play_item("weather", short, at(news_at + 2.0), expires_at=at(news_at + 60)),
        play_item("market", short, at(news_at + 2.5), expires_at=at(news_at + 60)),
        play_item("closed", short, at(news_at + 2.2), expires_at=at(news_at + 3.0)),  # its slot ends mid-emergency
    )
    r.start()
    wait_for(lambda: r.kinds("started"), timeout=5, what="the programme to start")
    r.conductor.preempt(play_item("flood", alarm, at(t0), priority="emergency"))
    wait_for(lambda: {"weather", "market"} <= {i.item_id for i, _ in r.kinds("finished")}, timeout=20,
             what="the rest of the programme after the emergency")
    [(cut, fields)] = r.kinds("interrupted")
    assert cut.item_id == "news" and fields["reason"] == "preempted" and "by_emergency" in fields["flags"]
    assert [i.item_id for i, _ in r.kinds("finished")][:3] == ["flood", "weather", "market"]
    starts = {i.item_id: f["actual_start"] for i, f in r.kinds("started")}
    flood_end = starts["flood"] + alarm.seconds
    assert starts["weather"] >= flood_end - 0.05 and starts["market"] >= starts["weather"] + short.seconds - 0.05
    assert "late" in dict((i.item_id, f) for i, f in r.kinds("started"))["weather"]["flags"]
    wait_for(lambda: [i.item_id for i, _ in r.kinds("skipped")] == ["closed"], timeout=5, what="the closed slot skipped")
    assert r.kinds("skipped")[0][1]["reason"] == "missed_start"


def test_a_test_tone_that_cuts_a_programme_is_named_as_the_cause_and_the_programme_resumes(rig, tmp_path):
    r = rig()
    long_clip = make_clip(tmp_path / "media", 2.0, freq=300)
    short = make_clip(tmp_path / "media", 0.5, freq=600)
    r.add(long_clip)
    r.add(short)
    t0 = datetime.now(timezone.utc).timestamp()
    r.items = (play_item("news", long_clip, at(t0 + 1.7), expires_at=at(t0 + 60)),
               play_item("next", short, at(t0 + 3.8), expires_at=at(t0 + 60)))
    r.start()
    wait_for(lambda: r.kinds("started"), timeout=5, what="the programme to start")
    r.conductor.preempt(play_item("tone-1", short, at(t0), priority="priority"))
    wait_for(lambda: [i.item_id for i, _ in r.kinds("finished")] == ["tone-1", "next"], timeout=15,
             what="the tone, then the programme")
    [(cut, fields)] = r.kinds("interrupted")
    assert cut.item_id == "news" and "by_test_tone" in fields["flags"]


def test_a_warm_up_switches_the_amplifier_on_at_once_and_off_when_nothing_comes(rig, tmp_path):
    r = rig()
    clip = make_clip(tmp_path / "media", 0.5)
    r.add(clip)
    r.start()
    assert not r.relay.is_on
    t0 = time.time()
    r.conductor.warm_up(1.0)  # a warning is being rendered for this cluster
    wait_for(lambda: r.relay.is_on, timeout=2, what="amplifier on ahead of the warning")
    wait_for(lambda: not r.relay.is_on, timeout=5, what="amplifier off when no warning came")
    assert time.time() - t0 >= 1.0
    timeline = r.pin_timeline()
    assert [level for _, level in timeline] == [True, False]
    assert timeline[0][0] - t0 < 0.5 and timeline[1][0] - timeline[0][0] >= 1.0


def test_a_burst_of_re_sent_copies_of_one_emergency_airs_it_once_and_whole(rig, tmp_path):
    """A commune whose bridge was down gets every queued re-send of an emergency at once when it heals,
    and more keep coming until the pole reports it started: no copy may cut the one being taken up."""
    r = rig()
    alarm = make_clip(tmp_path / "media", 1.0, freq=900)
    r.add(alarm)
    t0 = datetime.now(timezone.utc).timestamp()
    flood = play_item("flood", alarm, at(t0 - 40), priority="emergency")
    for _ in range(30):  # all in before the playback thread takes the first up, as a burst off the wire can be
        r.conductor.preempt(flood)
    r.start()
    deadline = time.monotonic() + 15
    while not (r.kinds("finished") or r.kinds("interrupted") or r.kinds("failed")):
        assert time.monotonic() < deadline, "the emergency never aired while its re-sends kept coming"
        r.conductor.preempt(flood)  # the controller's next re-send
        threading.Event().wait(0.2)  # the re-send period
    assert [i.item_id for i, _ in r.kinds("finished")] == ["flood"]
    assert not r.kinds("interrupted") and [i.item_id for i, _ in r.kinds("started")] == ["flood"]


def test_a_relay_after_a_file_is_not_fetched_as_a_file_while_the_file_plays(rig, tmp_path):
    """The next item is decoded ahead while one plays; a relay has no file, so nothing is asked of the media cache."""
    from loaxa.protocol import PlayItem, StreamRef

    r = rig()
    clip = make_clip(tmp_path / "media", 1.0)
    r.add(clip)
    t = datetime.now(timezone.utc).timestamp() + 1.7
    stream = PlayItem(item_id="relay-1", start=at(t + clip.seconds), sha256="", size=0, duration_s=10.0,
                      title="Tiếp sóng VOV1", broadcast_id="bc-relay",
                      stream=StreamRef(url="http://127.0.0.1:9/relay-vov1.ogg", username="d-x", password="p"))
    r.items = (play_item("p0", clip, at(t)), stream)
    asked: list[str] = []
    media_path = r.conductor.media_path
    r.conductor.media_path = lambda item: (asked.append(item.item_id), media_path(item))[1]
    r.start()
    wait_for(lambda: r.kinds("finished"), timeout=10, what="the file to finish")
    assert asked and "relay-1" not in asked, asked


def test_an_item_planned_while_another_plays_and_whose_file_comes_late_still_follows_without_a_gap(rig, tmp_path):
    """An official warning's words reach the plan, then their file, while its attention signal already sounds."""
    r = rig()
    signal, words = make_clip(tmp_path / "media", 2.0, freq=900), make_clip(tmp_path / "media", 1.0, freq=300)
    r.add(signal)
    r.add(words)
    r.pending.add(words.sha256)
    prepared: list[tuple[str, float]] = []
    real_prepare = r.conductor.output.prepare

    def prepare(path, info):
        prepared.append((info["item_id"], time.time()))
        return real_prepare(path, info)

    r.conductor.output.prepare = prepare
    asked: list[str] = []
    media_path = r.conductor.media_path
    r.conductor.media_path = lambda item: (asked.append(item.item_id), media_path(item))[1]
    t = datetime.now(timezone.utc).timestamp() + 1.7
    first = play_item("al.1.1.signal", signal, at(t))
    r.items = (first,)
    r.start()
    wait_for(lambda: r.kinds("started"), timeout=10, what="the signal to start")
    then = play_item("al.1.1", words, at(t + signal.seconds))
    r.items = (first, then)
    r.conductor.plan_changed()  # the words are planned while the signal plays; their file is still coming
    wait_for(lambda: "al.1.1" in asked, timeout=5, what="the conductor to look for the words' file, still coming")
    r.pending.discard(words.sha256)  # then it arrives (the agent calls look_ahead when a download ends)
    r.conductor.look_ahead()
    wait_for(lambda: len(r.kinds("finished")) == 2, timeout=10, what="signal and words played")
    starts = {i.item_id: f["actual_start"] for i, f in r.kinds("started")}
    decoded = dict(prepared)
    assert decoded["al.1.1"] < starts["al.1.1.signal"] + signal.seconds - 0.2, "the words were decoded ahead"
    assert abs(starts["al.1.1"] - then.start.timestamp()) < ON_TIME_S
