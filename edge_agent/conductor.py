"""The conductor: plays the plan on time, from the local clock, with or without a network.

One thread walks the verified plan.  A few seconds before each item it switches the
amplifier on, decodes ahead and opens the output, then waits out the last milliseconds
precisely and hands the first frame over at the planned instant.  It never downloads:
an item whose file is still coming is passed over (later items play on time) until the
file is there or the item's late-start limit is past, when it is logged ``skipped`` with
reason ``media_late``.  The limit is checked again after every wait.  An emergency
preempts whatever plays (the interrupted item is logged ``interrupted`` with reason
``preempted`` and a flag naming the cause, ``by_emergency`` or ``by_test_tone``); the
programme then resumes with its remaining items, late, as long as each still fits its slot
(it can finish before its ``expires_at``), instead of their being skipped as missed.  When nothing is due the thread sleeps until the next instant that matters (the
next item's lead, the relay's tail) so an idle agent costs next to no CPU.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

from edge_agent.capture import LevelMeter
from edge_agent.config import PlayerSettings, RelaySettings
from edge_agent.hardware import Relay, Volume
from edge_agent.player import Output, PlayerError, Prepared
from edge_agent.store import AgentStore
from edge_agent.stream import play_stream
from loaxa.logs import log_context
from loaxa.protocol import PlayItem

log = logging.getLogger(__name__)

IDLE_WAKE_S = 60.0
RELAY_MARGIN_S = 0.05
PREPARE_BUDGET_S = 1.0
URGENT_MEDIA_WAIT_S = 120.0
PROGRESS_S = 2.0
MEDIA_POLL_S = 0.05  # how often decoding ahead looks for a next item's file that is still downloading
MAX_LOOK_AHEADS = 4  # a successor that arrives while an item plays is looked for again this often at most
STREAM_PREROLL_S = 8.0  # a stream item connects this long before its instant, so its first sample is on time


@dataclass
class _Ahead:
    """The next item being decoded while one plays: its output once ready, the file it holds, a way to give up."""

    item: PlayItem
    thread: threading.Thread
    slot: list[Prepared]
    held: list[Path]
    cancel: threading.Event


class EventSink(Protocol):
    def __call__(self, kind: str, item: PlayItem | None, **fields: Any) -> None: ...


def wait_until(instant: float, interrupted: Callable[[], bool], event: threading.Event) -> bool:
    """Sleep until ``instant`` (epoch seconds) with sub-millisecond precision.

    Coarse waits use the event (so an emergency wakes us); the last two milliseconds
    are a short sleep and a spin, because a plain sleep overshoots by up to a tick.
    Returns False if interrupted first.
    """
    while True:
        if interrupted():
            return False
        remaining = instant - time.time()
        if remaining <= 0:
            return True
        if remaining > 0.02:
            event.wait(remaining - 0.015)
            event.clear()
        elif remaining > 0.003:
            time.sleep(remaining - 0.002)


class Conductor(threading.Thread):
    def __init__(
        self,
        store: AgentStore,
        output: Output,
        relay: Relay,
        player: PlayerSettings,
        relay_settings: RelaySettings,
        items: Callable[[], tuple[PlayItem, ...]],
        media_path: Callable[[PlayItem], Path | None],
        emit: EventSink,
        on_change: Callable[[], None],
        blocked: Callable[[PlayItem], str | None] = lambda item: None,
        clock_flags: Callable[[], list[str]] = lambda: [],
        clock_offset_s: Callable[[], float] = lambda: 0.0,
        meter: LevelMeter | None = None,
        device_id: str = "",
        media_pending: Callable[[PlayItem], bool] = lambda item: False,
        release_media: Callable[[PlayItem], None] = lambda item: None,
        stream_ca: str = "",
        volume: Volume | None = None,
        emergency_min_volume: int = 0,
    ):
        super().__init__(name="conductor", daemon=True)
        self.device_id = device_id
        self.stream_ca = stream_ca
        self.volume = volume
        self.emergency_min_volume = emergency_min_volume
        self.store = store
        self.output = output
        self.relay = relay
        self.player = player
        self.relay_settings = relay_settings
        self.items = items
        self.media_path = media_path
        self.media_pending = media_pending
        self.release_media = release_media
        self.emit = emit
        self.on_change = on_change
        self.blocked = blocked
        self.clock_flags = clock_flags
        self.clock_offset_s = clock_offset_s
        self.meter = meter
        self.now_playing: PlayItem | None = None
        self._wake = threading.Event()
        self._stop_current = threading.Event()
        self._shutdown = threading.Event()
        self._urgent: deque[PlayItem] = deque()
        self._interrupt_reason = ""
        self._relay_off_at: float | None = None
        self._plan_changed = threading.Event()
        self._ahead: _Ahead | None = None
        self._ahead_lock = threading.RLock()
        self._playing_until = 0.0  # when what plays now ends (for decoding its successor ahead)
        self._look_aheads = 0  # second looks for a successor during the current item (bounded)
        self._sound_end = 0.0
        self._media_wait_until: float | None = None
        self._preempt_cause = ""
        self._carry_since: float | None = None  # items due since then wait out an interruption instead of being missed
        self._warm_request = 0.0

    # control, from other threads ----------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def plan_changed(self) -> None:
        """A new plan arrived: an item waiting to start is re-checked against it."""
        self._plan_changed.set()
        self._wake.set()
        self.look_ahead()

    def look_ahead(self) -> None:
        """While an item plays, decode its successor if it arrived since it started (a new plan, its file).

        A warning's words reach the plan while its attention signal already sounds; decoded
        ahead, they still follow it without a gap."""
        current = self.now_playing
        if current is None or current.stream is not None:
            return
        with self._ahead_lock:
            ahead = self._ahead
            if ahead is not None and (ahead.thread.is_alive() or ahead.slot):
                return  # decoding or waiting for its file, or decoded: the successor is in hand
            if self.now_playing is not current or self._look_aheads >= MAX_LOOK_AHEADS:
                return
            self._look_aheads += 1
            if ahead is not None:
                self._drop_ahead()
            self._prepare_ahead(current, self._playing_until)

    def warm_up(self, hold_s: float) -> None:
        """Amplifier on now, for a warning whose sound is still being made; off again after ``hold_s`` if nothing plays.

        Its first airing can then be planned closer than the warm-up: the amplifier warmed
        while the controller rendered.  The conductor's thread does the switching.
        """
        self._warm_request = max(self._warm_request, hold_s)
        self._wake.set()

    def preempt(self, item: PlayItem) -> None:
        """Play ``item`` now, interrupting whatever plays; never a second time (the plan may hold it too)."""
        current = self.now_playing
        if self.store.play_status(item.item_id) is not None or (current is not None and current.item_id == item.item_id):
            log.info("%s already played or playing here; not again", item.item_id)
            return
        self._preempt_cause = "by_emergency" if item.priority == "emergency" else "by_test_tone"
        now = time.time()
        self._carry_since = now if self._carry_since is None else min(self._carry_since, now)
        self._urgent.append(item)
        self.stop_current("preempted")

    def stop_current(self, reason: str = "stopped") -> None:
        if self.now_playing is not None:
            self._interrupt_reason = reason
            self._stop_current.set()
        self._wake.set()

    def stop_command(self, reason: str = "", item_id: str = "") -> None:
        """A signed ``stop``.  The controller closing a live session (``live_…``) is that item's normal end:
        it is logged ``stream_finished``; any other stop interrupts what plays.  A stop naming an item
        leaves anything else alone (an emergency that took over after the session)."""
        playing = self.now_playing
        if item_id and (playing is None or playing.item_id != item_id):
            log.info("stop for %s ignored: it is not playing", item_id)
            return
        ended = reason.startswith("live_") and reason != "live_kill_switch"
        self.stop_current("stream_ended" if ended else "stopped")

    def shutdown(self) -> None:
        self._shutdown.set()
        self.stop_current("shutdown")

    # the loop ------------------------------------------------------------------------
    def _raise_priority(self) -> None:
        """Real-time scheduling for this thread only, so a busy Pi does not delay a start (children stay normal)."""
        prio = self.player.realtime_priority
        if prio <= 0 or not hasattr(os, "sched_setscheduler"):
            return
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(min(prio, 99)))
            log.info("playback thread runs with real-time priority %d", prio)
        except OSError as exc:
            log.warning("playback thread runs at normal priority (%s); allow it with LimitRTPRIO in the unit", exc)

    def run(self) -> None:
        with log_context(device_id=self.device_id):
            self._run()

    def _run(self) -> None:
        self._raise_priority()
        while not self._shutdown.is_set():
            try:
                self._step()
            except Exception:
                log.exception("conductor step failed; continuing")
                self._shutdown.wait(1)
        self._drop_ahead()
        self.relay.set(False)

    # decoding the next item while one plays ------------------------------------------
    @staticmethod
    def _info(item: PlayItem) -> dict[str, Any]:
        return {"item_id": item.item_id, "sha256": item.sha256, "planned": item.start.timestamp(),
                "broadcast_id": item.broadcast_id}

    def _prepare_ahead(self, current: PlayItem, ends_at: float) -> None:
        """Items of a programme follow each other without a gap: decode the next one now, in the background."""
        with self._ahead_lock:
            self._prepare_ahead_locked(current, ends_at)

    def _prepare_ahead_locked(self, current: PlayItem, ends_at: float) -> None:
        nxt = next((i for i in self.items() if i.item_id != current.item_id and i.start.timestamp() >= ends_at - 1.0
                    and self.store.play_status(i.item_id) is None), None)
        if nxt is None or nxt.stream is not None or nxt.start.timestamp() - ends_at > self.lead_s():
            return  # a stream has no file to decode ahead
        ahead = _Ahead(nxt, threading.Thread(name="prepare-ahead", daemon=True), [], [], threading.Event())

        def work() -> None:
            path = self.media_path(nxt)  # held until the item is taken up or dropped
            # Its file still coming (a warning's words, just planned): wait for it while the current item plays.
            while path is None and self.media_pending(nxt) and time.time() < ends_at:
                if ahead.cancel.wait(MEDIA_POLL_S):
                    return
                path = self.media_path(nxt)
            if path is None:
                return
            ahead.held.append(path)
            try:
                ahead.slot.append(self.output.prepare(path, self._info(nxt)))
            except PlayerError as exc:
                log.warning("could not decode %s ahead: %s", nxt.item_id, exc)

        ahead.thread = threading.Thread(target=work, name="prepare-ahead", daemon=True)
        ahead.thread.start()
        self._ahead = ahead

    def _take_ahead(self, item: PlayItem) -> Prepared | None:
        """The item's output prepared while the previous one played, if it is this very item."""
        with self._ahead_lock:
            ahead, self._ahead = self._ahead, None
        if ahead is None:
            return None
        ahead.cancel.set()
        ahead.thread.join()
        if ahead.held:
            self.release_media(ahead.item)  # the item's own take-up holds its file from here
        if ahead.item == item and ahead.slot:
            return ahead.slot[0]
        for prepared in ahead.slot:
            prepared.close()
        return None

    def _drop_ahead(self) -> None:
        with self._ahead_lock:
            ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead.cancel.set()
            ahead.thread.join()
            if ahead.held:
                self.release_media(ahead.item)
            for prepared in ahead.slot:
                prepared.close()

    def latest_start(self, item: PlayItem) -> float:
        """The last instant ``item`` may still start: its late window, or the late-start tolerance."""
        tolerance = item.start.timestamp() + self.player.late_tolerance_s
        latest = max(item.late_until.timestamp(), tolerance) if item.late_until is not None else tolerance
        carry = self._carry_since
        if carry is not None and item.stream is None and item.expires_at is not None and tolerance >= carry:
            # Its turn came while an emergency or a test tone had the speaker: it still plays if it fits its slot.
            latest = max(latest, item.expires_at.timestamp() - max(item.duration_s, 0.0))
        return latest

    def skip_reason(self, item: PlayItem) -> str:
        """Why an item did not start in time: its file was still coming, or the device was busy or down."""
        return "media_late" if self.media_pending(item) else "missed_start"

    def _due(self, now: float) -> PlayItem | None:
        """The next item to take up; items whose file is still downloading are passed over until it is there."""
        self._media_wait_until = None
        for item in self.items():
            if self.store.play_status(item.item_id) is not None:
                continue
            if item.stream is not None:  # a relay is joined late at the live point, until its slot ends
                if now < item.ends_at.timestamp():
                    return item
                self.store.mark_play(item.item_id, "skipped")
                self.emit("skipped", item, reason="slot_over")
                continue
            if self.latest_start(item) < now:
                self.store.mark_play(item.item_id, "skipped")
                self.emit("skipped", item, reason=self.skip_reason(item))
                continue
            if item.start.timestamp() <= now + self.lead_s() and self.media_pending(item):
                limit = self.latest_start(item)
                self._media_wait_until = min(self._media_wait_until or limit, limit)
                continue
            return item
        return None

    @staticmethod
    def _in_late_window(item: PlayItem, now: float) -> bool:
        """A warning this device missed (it was offline) still plays once, late, inside its window."""
        return item.late_until is not None and now < item.late_until.timestamp()

    def lead_s(self) -> float:
        """How long before an item's instant the conductor takes it up: decode, then relay warm-up."""
        return max(self.player.prepare_lead_s, self.relay_settings.warmup_s + RELAY_MARGIN_S + PREPARE_BUDGET_S)

    def stream_lead_s(self) -> float:
        """A stream item is taken up this long before its instant: the pre-roll (connect, fill the buffer)."""
        return max(self.lead_s(), self.relay_settings.warmup_s + RELAY_MARGIN_S, STREAM_PREROLL_S)

    def _step(self) -> None:
        if self._urgent:
            item = self._urgent.popleft()
            if self.store.play_status(item.item_id) is None:  # its copy in the plan may have played meanwhile
                self._play(item, urgent=True)
            return
        now = time.time()
        if self._warm_request:
            hold, self._warm_request = self._warm_request, 0.0
            if self.relay.set(True):
                self.on_change()
            self._relay_off_at = max(self._relay_off_at or 0.0, now + hold)
            log.info("amplifier on ahead of a warning (off in %.0f s unless it plays)", hold)
        item = self._due(now)
        if self._carry_since is not None and (item is None or item.start.timestamp() > now):
            self._carry_since = None  # the programme caught up: later items keep their own late limits
        lead = self.lead_s() if item is None or item.stream is None else self.stream_lead_s()
        next_start = item.start.timestamp() if item else None
        if item is not None and next_start - now <= lead:
            self._play(item, urgent=False)
            return
        wake_at = [now + IDLE_WAKE_S]
        if next_start is not None:
            wake_at.append(next_start - lead)
        if self._media_wait_until is not None:  # a file still coming: its item's limit (a finished download wakes us too)
            wake_at.append(self._media_wait_until + 0.01)
        if self._relay_off_at is not None:
            if now >= self._relay_off_at:
                self._relay_off_at = None
                if self.relay.set(False):  # the next item is further than its warm-up: a new programme
                    self.on_change()
            else:
                wake_at.append(self._relay_off_at)
        self._wake.wait(max(0.0, min(wake_at) - now))
        self._wake.clear()

    def _play(self, item: PlayItem, urgent: bool) -> None:
        with log_context(broadcast_id=item.broadcast_id, item_id=item.item_id):
            self._play_item(item, urgent)

    def _play_item(self, item: PlayItem, urgent: bool) -> None:
        reason = self.blocked(item)
        if reason:
            self.store.mark_play(item.item_id, "skipped")
            self.emit("skipped", item, reason=reason)
            return
        if item.stream is not None:
            self._play_stream(item, urgent)
            return
        path = self.media_path(item)
        if path is None and urgent:
            path = self._await_media(item)
        if path is None:
            if self.media_pending(item):
                return  # a download runs for it now: later items go first, this one when its file is there
            self.store.mark_play(item.item_id, "failed")
            self.emit("failed", item, reason="media_missing")
            return
        try:
            self._take_up(item, path, urgent)
        finally:
            self.release_media(item)

    def _await_media(self, item: PlayItem) -> Path | None:
        """An emergency has nothing to give way to: wait for its file (bounded by the item's own end)."""
        until = time.time() + max(URGENT_MEDIA_WAIT_S, item.duration_s)
        while self.media_pending(item) and time.time() < until and not self._shutdown.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            path = self.media_path(item)
            if path is not None:
                return path
        return None

    def _too_late(self, item: PlayItem, urgent: bool) -> bool:
        """Checked again after every wait (decoding, the previous item's decoder): late past the limit is skipped."""
        if urgent or time.time() <= self.latest_start(item):
            return False
        log.warning("%s: past its late-start limit after waiting; skipped", item.item_id)
        self.store.mark_play(item.item_id, "skipped")
        self.emit("skipped", item, reason="missed_start")
        return True

    def _take_up(self, item: PlayItem, path: Path, urgent: bool) -> None:
        late = item.start.timestamp() <= time.time()  # already past its instant when taken up: warm up first
        self._relay_off_at = None
        self._sound_end = 0.0
        prepared = self._take_ahead(item)
        if self._too_late(item, urgent):
            if prepared is not None:
                prepared.close()
            return
        try:
            if prepared is None:
                prepared = self.output.prepare(path, self._info(item))
            prepared.open()
        except PlayerError as exc:
            if prepared is not None:
                prepared.close()
            log.error("cannot play %s: %s", item.item_id, exc)
            self.store.mark_play(item.item_id, "failed")
            self.emit("failed", item, reason="decode_error")
            self._relay_off_at = time.time() + self.relay_settings.tail_s
            return
        def interrupted() -> bool:
            if self._urgent or self._shutdown.is_set() or (not urgent and self.blocked(item)):
                return True
            if self._plan_changed.is_set():
                self._plan_changed.clear()
                return not self._still_planned(item)
            return False

        try:
            if self._too_late(item, urgent):
                return
            warm = self.relay_settings.warmup_s
            soonest = time.time() + (0.0 if self.relay.is_on else warm)
            # A late start (after a reboot, a missed window, a wait for its file) still gets its amplifier
            # warm-up; an item on time keeps its instant even if decoding ate into the warm-up.
            start = soonest if urgent or late else item.start.timestamp()
            if not urgent and not wait_until(start - warm - RELAY_MARGIN_S, interrupted, self._wake):
                return  # the item stays due; the emergency goes first
            if self.relay.set(True):
                self.on_change()
            if start - time.time() > 0.005:  # durable before the instant, unless that would make it late
                self.store.mark_play(item.item_id, "playing", {"item": item.to_dict()})
            if not urgent and not wait_until(start, interrupted, self._wake):
                self.store.clear_play(item.item_id)
                return
            if urgent:
                wait_until(start, self._shutdown.is_set, self._wake)
            with self._at_volume(item) as level:
                self._perform(item, prepared, urgent, level)
        finally:
            prepared.close()
            self._relay_off_at = max(time.time(), self._sound_end) + self.relay_settings.tail_s

    def _record_progress(self, item: PlayItem, started: float,
                         lost_s: Callable[[], float] = lambda: 0.0) -> Callable[[], None]:
        """Store how long the item has played, every few seconds: a crash's ``interrupted`` event then says how much aired.

        ``lost_s``: the seconds a stream's gaps have lost so far, which did not air.
        """
        done = threading.Event()

        def beat() -> None:
            while not done.wait(PROGRESS_S):
                played = max(0.0, time.time() - started - lost_s())
                self.store.mark_play(item.item_id, "playing", {"item": item.to_dict(), "actual_start": started,
                                                               "played_s": round(played, 3)})

        thread = threading.Thread(target=beat, name="play-progress", daemon=True)
        thread.start()

        def stop() -> None:
            done.set()
            thread.join()

        return stop

    def _play_stream(self, item: PlayItem, urgent: bool) -> None:
        """A relay or live item: amplifier on, listen from the scheduled instant (or the live point) to the slot's end."""
        writer_of = getattr(self.output, "stream_writer", None)
        if writer_of is None:
            self.store.mark_play(item.item_id, "failed")
            self.emit("failed", item, reason="no_stream_output")
            return

        def interrupted() -> bool:
            return bool(self._urgent) or self._shutdown.is_set() or bool(self.blocked(item))

        warmup = self.relay_settings.warmup_s
        start = max(item.start.timestamp(), time.time() + (0.0 if self.relay.is_on else warmup))
        self._relay_off_at = None

        def amplifier_on() -> None:
            if self.relay.set(True):
                self.on_change()

        try:
            if not wait_until(start - max(warmup, STREAM_PREROLL_S) - RELAY_MARGIN_S, interrupted, self._wake):
                return
            self._stop_current.clear()
            self._interrupt_reason = ""
            self.now_playing = item
            try:
                writer = writer_of(item.item_id)
            except PlayerError as exc:
                log.error("cannot open the output for %s: %s", item.item_id, exc)
                self.now_playing = None
                self.store.mark_play(item.item_id, "failed")
                self.emit("failed", item, reason="output_error")
                return
            self.store.mark_play(item.item_id, "playing", {"item": item.to_dict()})
            progress: list[Callable[[], None]] = []
            lost: list[float] = []

            def on_start(t: float) -> None:
                self.emit("stream_started", item, actual_start=t, flags=self.clock_flags())
                if not progress:  # a crash's 'interrupted' then says how much aired
                    progress.append(self._record_progress(item, t, lambda: sum(lost)))

            def on_gap(at: float, seconds: float) -> None:
                lost.append(seconds)
                self.emit("stream_gap", item, actual_start=at, duration_s=round(seconds, 3))

            try:
                with self._at_volume(item) as level:
                    if level is not None:
                        log.info("%s plays at volume %d%%", item.item_id, level)
                    outcome = play_stream(
                        item, writer, self._stop_current, self.stream_ca, on_start=on_start,
                        on_gap=on_gap,
                        at=start, clock_offset_s=self.clock_offset_s, warm=amplifier_on,
                        warm_at=start - warmup - RELAY_MARGIN_S)
            finally:
                for stop_progress in progress:
                    stop_progress()
                writer.close()
                self.now_playing = None
            if outcome.output_failed:
                self.store.mark_play(item.item_id, "failed")
                self.emit("failed", item, actual_start=outcome.started_at or None, duration_s=outcome.aired_s,
                          reason="output_error")
            elif outcome.completed or self._interrupt_reason == "stream_ended":
                self.store.mark_play(item.item_id, "finished")
                self.emit("stream_finished", item, actual_start=outcome.started_at or None, duration_s=outcome.aired_s)
            else:
                reason = self._interrupt_reason or "stopped"
                self.emit("interrupted", item, actual_start=outcome.started_at or None, duration_s=outcome.aired_s,
                          reason=reason)
                if reason == "preempted" and time.time() < item.ends_at.timestamp():
                    self.store.clear_play(item.item_id)  # resumes at the live point once the emergency is over
                else:
                    self.store.mark_play(item.item_id, "interrupted")
            self.on_change()
        finally:
            self._relay_off_at = time.time() + self.relay_settings.tail_s

    def item_volume(self, item: PlayItem) -> int | None:
        """The volume ``item`` plays at: its signed volume, and for an emergency never below the minimum
        (None: the pole's own volume)."""
        wanted = item.volume
        if item.priority == "emergency" and self.volume is not None:
            wanted = max(self.volume.level if wanted is None else wanted, self.emergency_min_volume)
        return wanted

    def _at_volume(self, item: PlayItem) -> Any:
        if self.volume is None:
            return contextlib.nullcontext(None)
        return self.volume.for_item(self.item_volume(item))

    def _still_planned(self, item: PlayItem) -> bool:
        return any(i.item_id == item.item_id and i.start == item.start and i.sha256 == item.sha256
                   for i in self.items())

    def _perform(self, item: PlayItem, prepared: Prepared, urgent: bool, volume: int | None = None) -> None:
        self._stop_current.clear()
        self._interrupt_reason = ""
        self.now_playing = item
        started = prepared.start()
        measurement = self.meter.start() if self.meter else None
        self._playing_until = started + max(item.duration_s, 0.0)
        self._look_aheads = 0 if not urgent else MAX_LOOK_AHEADS  # an emergency's successor waits, as before
        if not urgent:
            self._prepare_ahead(item, self._playing_until)
        planned = item.start.timestamp()
        flags = (["late"] if started - planned > 1.0 and not urgent else []) + self.clock_flags()
        if item.late_until is not None and started - planned > self.player.late_tolerance_s:
            log.warning("%s plays late by %.0f s (the device missed its start; valid until %s)", item.item_id,
                        started - planned, item.late_until.isoformat())
        self.store.mark_play(item.item_id, "playing", {"item": item.to_dict(), "actual_start": started})
        if volume is not None:
            log.info("%s plays at volume %d%%", item.item_id, volume)
        self.emit("started", item, actual_start=started, flags=flags)
        self.on_change()
        progress = self._record_progress(item, started)
        try:
            outcome = prepared.wait(self._stop_current)
        finally:
            progress()
        self._sound_end = started + outcome.played_s  # the output may still be sounding its buffer
        self.now_playing = None
        extra: dict[str, Any] = {}
        if measurement is not None:
            level = measurement.finish()
            extra["level_dbfs"] = level.dbfs
            if level.silent:
                flags = flags + ["silent"]
        if outcome.completed:
            self.store.mark_play(item.item_id, "finished")
            self.emit("finished", item, actual_start=started, duration_s=round(outcome.played_s, 3), flags=flags, **extra)
        else:
            reason = self._interrupt_reason or "stopped"
            if reason == "preempted" and self._preempt_cause:
                flags = flags + [self._preempt_cause]
            self.store.mark_play(item.item_id, "interrupted")
            self.emit("interrupted", item, actual_start=started, duration_s=round(outcome.played_s, 3),
                      reason=reason, flags=flags, **extra)
        self.on_change()
