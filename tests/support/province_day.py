"""A compressed province day on one machine, with faults on a timetable, and its report (``make soak``).

One controller; a province broker and commune brokers on the configuration ``loaxa broker
config`` generates, each commune's bridge through a fault-injecting proxy
(:mod:`support.tcp_proxy`); real agents with file sinks, enrolled through the controller;
lightweight simulated devices (:mod:`support.sim_devices`) provisioned like devices.  A
programme of a morning and an evening slot for the whole province and two emergencies
is sent through the controller's API while the faults of :data:`TIMETABLE` happen at
their fraction of the day: broker restarts, a bridge partition, a slow and lossy bridge,
SIGKILL of the controller and of agents (during a download and during a play) and a
power cut (every agent, broker and simulated device at once).  With ``DaySize.relay`` the
controller runs its Icecast and the programme holds a relay slot (tiếp sóng) of an HLS
source ffmpeg makes on loopback, scheduled for the real agents (the simulated devices
cannot play a stream, so they are not its targets); the controller's SIGKILL, the slow
bridge and two agents' SIGKILL fall inside that slot.

The report: plays expected vs aired per commune (and the clusters that missed one), the
relay expected vs aired per commune with its seconds aired, its gaps and the agents that
rejoined it after a fault, events generated vs stored, lost and duplicated, start-error
percentiles (the relay's apart from the file plays'), the backlog's
drain time after the power cut, and ``loaxa audit verify``.  Run it with
``PYTHONPATH=$PWD:$PWD/tests python -m support.province_day --day-s 600`` (``--help`` for
the size); ``make soak`` runs it at the issue's size.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from controller.devices.broker_tree import BrokerTree
from controller.devtools.broker_runner import free_port
from controller.devtools.tone_sources import HlsSource
from loaxa.wire_time import format_time, parse_time, utcnow
from support.harness import AgentHandle, ControllerHandle, wait_for
from support.sim_devices import SimFleet, provision
from support.tree_rig import TreeRig, bulletin, issued_seqs

log = logging.getLogger("province_day")

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class DaySize:
    communes: int = 3
    agents: int = 30
    sims: int = 1000
    day_s: float = 600.0
    faults: tuple[str, ...] = ()  # empty: the whole timetable
    relay: bool = True  # the controller runs Icecast and the programme holds a relay slot
    slots: bool = True  # the morning and evening slots and the two emergencies (off: the relay alone)

    def chosen(self) -> list[tuple[float, str]]:
        return [(at, name) for at, name in TIMETABLE if not self.faults or name in self.faults]


# (fraction of the day, fault).  The programme: morning slot at 0.20, evening slot at 0.66
# (scheduled at 0.55), emergencies at 0.36 (during the partition) and 0.76.
TIMETABLE: tuple[tuple[float, str], ...] = (
    (0.08, "province_broker_restart"),
    (0.14, "commune_broker_restart"),
    (0.20, "agents_killed_during_play"),
    (0.30, "bridge_partition"),
    (0.46, "controller_killed"),
    (0.50, "slow_lossy_bridge"),
    (0.55, "agents_killed_during_download"),
    (0.84, "power_cut"),
)
PARTITION_SPAN = 0.12  # of the day: the first commune's bridge is down from 0.30 to 0.42
SLOTS = {"morning": 0.20, "evening": 0.66}
EMERGENCIES = (0.36, 0.76)
# The relay slot, of the day: after the first emergency's re-sending to the commune that was cut
# off, through the controller's SIGKILL (0.46), the slow bridge (0.50) and the agents killed at 0.55.
RELAY = (0.44, 0.60)
RELAY_MIN_S = 15.0  # a short day's slot: long enough for an agent killed in it to come back (the controller takes 10 s)
RELAY_LEAD_S = 12.0  # a slot needs its plan on the agents before their 8 s pre-roll


@dataclass
class RelayReport:
    """The relay slot on the agents that were its targets: aired, seconds, gaps, rejoins after faults.

    An agent that started the relay and ended it with ``stream_finished`` aired it, whatever cut it
    in between: a stream gap (the controller's Icecast gone, a stalled source) or an interruption it
    came back from (an emergency's preemption, the agent's own restart) is reported as seconds lost,
    not as a miss.  An agent that never started it, or whose last word on it is an interruption it
    did not come back from, missed it (the slot yielded to an emergency that held the speaker to its
    end is counted apart, by design).
    """

    slot_s: float
    planned_at: str
    faults_during: list[str] = field(default_factory=list)
    expected: dict[str, int] = field(default_factory=dict)  # commune -> agents targeted
    aired: dict[str, int] = field(default_factory=dict)  # commune -> agents that ended it stream_finished
    aired_s: dict[str, float] = field(default_factory=dict)  # commune -> seconds aired, all its agents
    gaps: dict[str, list[float]] = field(default_factory=dict)  # commune -> seconds of each stream_gap
    rejoined: list[tuple[str, str]] = field(default_factory=list)  # (device, what cut it) and it came back
    missed: list[tuple[str, str]] = field(default_factory=list)  # (device, why)
    yielded: list[str] = field(default_factory=list)
    start_error_ms: dict[str, float] = field(default_factory=dict)  # first stream_started − the slot's start

    def markdown(self, commune_of: dict[str, str]) -> list[str]:
        lines = [f"Relay (an HLS source made by ffmpeg, restreamed by the controller's Icecast): a {self.slot_s:.0f} s "
                 f"slot for the real agents; faults inside it: {', '.join(self.faults_during) or 'none'}.", "",
                 "| Commune broker | Relay expected | Aired to its end | Seconds aired of planned | Stream gaps "
                 "(count, s) | Rejoined after a cut | Missed |", "|---|---|---|---|---|---|---|"]
        for c in sorted(self.expected):
            gaps = self.gaps.get(c, [])
            back = sum(1 for d, _w in self.rejoined if commune_of.get(d) == c)
            missed = sum(1 for d, _w in self.missed if commune_of.get(d) == c)
            lines.append(f"| {c} | {self.expected[c]} | {self.aired.get(c, 0)} | {self.aired_s.get(c, 0.0):.0f} of "
                         f"{self.expected[c] * self.slot_s:.0f} | {len(gaps)}, {sum(gaps):.1f} | {back} | {missed} |")
        if self.rejoined:
            lines += ["", f"Rejoined ({len(self.rejoined)}): " + ", ".join(f"{d} ({w})" for d, w in self.rejoined) + "."]
        if self.yielded:
            lines += ["", f"Yielded to an emergency to the slot's end: {', '.join(self.yielded)}."]
        if self.missed:
            lines += ["", f"Relay missed ({len(self.missed)}): " + ", ".join(f"{d} ({w})" for d, w in self.missed) + "."]
        return lines

    def start_line(self) -> str:
        e = self.start_error_ms
        return (f"- Start error of the relay (first `stream_started` − the slot's start, each agent): p50 "
                f"{e.get('p50', 0):.0f} ms, p95 {e.get('p95', 0):.0f} ms, p99 {e.get('p99', 0):.0f} ms, "
                f"max {e.get('max', 0):.0f} ms.")


@dataclass
class DayReport:
    size: DaySize
    expected: dict[str, int] = field(default_factory=dict)  # commune -> plays expected
    aired: dict[str, int] = field(default_factory=dict)
    missed: list[tuple[str, str]] = field(default_factory=list)  # (device, what)
    yielded: list[tuple[str, str]] = field(default_factory=list)  # a slot skipped or cut while an emergency played
    generated: int = 0
    stored: int = 0
    lost: int = 0
    duplicated: int = 0
    repeated_records: int = 0
    start_error_ms: dict[str, float] = field(default_factory=dict)  # the programme's slots, every device
    agent_start_ms: dict[str, float] = field(default_factory=dict)  # the slots on the real agents only
    emergency_start_ms: dict[str, float] = field(default_factory=dict)  # from the emergency item's start
    drain_s: float | None = None
    audit_ok: bool = False
    audit_output: str = ""
    faults_done: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    commune_of: dict[str, str] = field(default_factory=dict)
    drain_after: str = ""
    sim_downloads: int = 0  # media files the simulated devices fetched over the media channel
    relay: RelayReport | None = None

    @property
    def plays_missed(self) -> int:
        return len(self.missed) + (len(self.relay.missed) if self.relay else 0)

    def markdown(self) -> str:
        s = self.size
        lines = [f"Run {format_time(utcnow())[:16]} UTC: {s.communes} commune brokers, {s.agents} agents, "
                 f"{s.sims} simulated devices, a {s.day_s:.0f} s day ({self.wall_s:.0f} s with set-up and drain).",
                 "", f"Faults: {', '.join(self.faults_done) or 'none'}.", "",
                 "| Commune broker | Plays expected | Aired | Yielded to an emergency | Missed |", "|---|---|---|---|---|"]
        yielded = {c: sum(1 for d, _w in self.yielded if self.commune_of.get(d) == c) for c in self.expected}
        lines += [f"| {c} | {self.expected[c]} | {self.aired.get(c, 0)} | {yielded[c]} | "
                  f"{self.expected[c] - self.aired.get(c, 0) - yielded[c]} |" for c in sorted(self.expected)]
        if self.yielded:
            lines += ["", f"Yielded to an emergency ({len(self.yielded)}): a slot that began between an emergency's "
                      "sending and the end of its play on that cluster is skipped or cut, by design."]
        if self.missed:
            shown = ", ".join(f"{d} ({w})" for d, w in self.missed[:20])
            lines += ["", f"Missed ({len(self.missed)}): {shown}{' …' if len(self.missed) > 20 else ''}."]
        if self.relay is not None:
            lines += ["", *self.relay.markdown(self.commune_of)]
        errs, em, ag = self.start_error_ms, self.emergency_start_ms, self.agent_start_ms
        lines += ["", f"- Events generated {self.generated}, stored {self.stored}, lost {self.lost}, "
                  f"duplicated {self.duplicated} (the same play's same event recorded twice: {self.repeated_records}).",
                  f"- Media files downloaded and checked by the simulated devices: {self.sim_downloads}.",
                  f"- Start error of the programme's slots (actual − planned, every device): p50 {errs.get('p50', 0):.0f} ms, "
                  f"p95 {errs.get('p95', 0):.0f} ms, p99 {errs.get('p99', 0):.0f} ms, max {errs.get('max', 0):.0f} ms.",
                  f"- The same on the real agents only: p50 {ag.get('p50', 0):.0f} ms, p95 {ag.get('p95', 0):.0f} ms, "
                  f"p99 {ag.get('p99', 0):.0f} ms, max {ag.get('max', 0):.0f} ms.",
                  *([self.relay.start_line()] if self.relay is not None else []),
                  f"- Emergencies, the item's start (its sending, or its re-sending to a commune that was cut off) → "
                  f"start on each device: p50 {em.get('p50', 0):.0f} ms, "
                  f"p95 {em.get('p95', 0):.0f} ms, p99 {em.get('p99', 0):.0f} ms, max {em.get('max', 0):.0f} ms.",
                  f"- Backlog drained {self.drain_s:.1f} s after the last fault ({self.drain_after}) ended: every outbox empty." if self.drain_s is not None
                  else f"- Backlog: {'not drained within the bound' if self.faults_done else 'no fault'}.",
                  f"- `loaxa audit verify`: {'ok' if self.audit_ok else 'FAILED'}.", ""]
        return "\n".join(lines)


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    v = sorted(values)
    pick = lambda q: v[min(len(v) - 1, int(q * len(v)))]  # noqa: E731
    return {"p50": statistics.median(v), "p95": pick(0.95), "p99": pick(0.99), "max": v[-1]}


class ProvinceDay:
    """The rig, the fleet, the programme and the timetable of one compressed day."""

    def __init__(self, root: Path, size: DaySize):
        self.root = root
        self.size = size
        self.communes = {f"xa-{i + 1}": f"thon-{i + 1}" for i in range(size.communes)}
        ids = list(self.communes)
        self.agent_ids = {f"loa-{i + 1:03d}": ids[i % len(ids)] for i in range(size.agents)}
        self.sim_ids = {f"sim-{i + 1:04d}": ids[i % len(ids)] for i in range(size.sims)}
        # Icecast drops root for its own account, which must reach its files: they live outside the
        # (private) working directory, as in tests/support/stream_rig.py.
        self._icecast_dir = Path(tempfile.mkdtemp(prefix="loaxa-icecast-")) if size.relay else None
        streaming = (f'[streaming]\nenabled = true\nport = {free_port()}\nconfig_dir = "{self._icecast_dir / "icecast"}"\n'
                     'device_host = "127.0.0.1"\n' if self._icecast_dir else "")
        self.rig = TreeRig(root, communes=self.communes,
                           plans="command_ttl_s = 900\nemergency_resend_s = 2\n",
                           security="enroll_attempts_per_min = 100000\n", sections=streaming)
        self.hls: HlsSource | None = None
        self.relay_id = ""  # the relay's broadcast
        self.relay_at = 0.0  # its slot's start and end (epoch seconds)
        self.relay_end = 0.0
        self._fault_times: list[tuple[float, float, str]] = []  # (began, ended, fault), epoch seconds
        self.ctl: ControllerHandle | None = None
        self.agents: dict[str, AgentHandle] = {}
        self.fleet: SimFleet | None = None
        self.report = DayReport(size)
        self.broadcasts: list[tuple[str, str]] = []  # (what, broadcast id)
        self.slot_times: dict[str, float] = {}  # the programme's broadcast id -> its planned start
        self._closing = threading.Event()
        self._drain_watch = 0  # which fault's drain is being timed (a later fault replaces it)
        self.drain_bound_s = max(120.0, size.day_s)

    # --- set-up --------------------------------------------------------------------------
    def setup(self) -> None:
        rig = self.rig
        rig.build({d: self.communes[c] for d, c in self.agent_ids.items()})
        db = rig.db()
        try:
            ports = {c: BrokerTree(db).get(c).device_port for c in self.communes}
        finally:
            db.close()
        provisioned = provision(rig.config, {d: self.communes[c] for d, c in self.sim_ids.items()}, "localhost",
                                ports, self.sim_ids)
        rig.generate()  # 'loaxa broker config' again: each commune's bridge names its devices' topics
        rig.start_all()
        self.ctl = rig.controller()
        rig.wait_links({c: True for c in self.communes}, timeout=120)
        for device_id in self.agent_ids:
            self.agents[device_id] = rig.tree_agent(device_id)
        self.fleet = SimFleet(provisioned, self.ctl.url, rig.files.ca_cert)
        self.fleet.start()
        wait_for(lambda: self.fleet.connected() == len(self.sim_ids), timeout=300, interval=1,
                 what="every simulated device connected")
        wait_for(lambda: self._online() >= len(self.agent_ids), timeout=300, interval=1, what="every agent online")
        if self.size.relay:
            self.hls = HlsSource(self.root / "hls", freq=600).start()
            assert self.hls.ready(), "the HLS source's playlist"
            self.ctl.api.post("/api/relay-sources", {"id": "vov1", "name": "VOV1", "url": self.hls.url, "kind": "hls"})

    def _online(self) -> int:
        with self.ctl.db() as conn:
            return conn.execute("SELECT COUNT(*) FROM devices WHERE online = 1 AND id LIKE 'loa-%'").fetchone()[0]

    # --- the day -------------------------------------------------------------------------
    def run(self) -> DayReport:
        began = time.monotonic()
        try:
            self.setup()
            self._day()
            self._quiet()
            self._drain()
            self._collect()
        finally:
            self.report.wall_s = time.monotonic() - began
            self.close()
        return self.report

    def _day(self) -> None:
        day = self.size.day_s
        slots = self.size.slots
        texts = {w: bulletin(self.ctl, f"Bản tin {'sáng' if w == 'morning' else 'chiều'}: thông báo lịch họp dân.")
                 for w in SLOTS} if slots else {}
        alarm = bulletin(self.ctl, "Khẩn cấp: lũ về, sơ tán ngay.") if slots else {}
        t0 = time.monotonic()
        wall0 = utcnow()
        at = lambda frac: wall0 + timedelta(seconds=frac * day)  # noqa: E731
        if slots:
            self._schedule("morning", texts["morning"], at(SLOTS["morning"]))
        if self.size.relay:
            self._schedule_relay(at(RELAY[0]), max(RELAY_MIN_S, (RELAY[1] - RELAY[0]) * day))
        events: list[tuple[float, str, Callable[[], None]]] = []
        for frac, name in self.size.chosen():
            events.append((frac, name, getattr(self, f"_fault_{name}")))
            if name == "bridge_partition":  # healed by the timetable, so the day goes on while it lasts
                events.append((frac + PARTITION_SPAN, "bridge_healed", self._heal_partition))
        evening_at = min(0.55 - 0.001, SLOTS["evening"] - 8 / day)  # a plan and its file need a few seconds
        if slots:
            events.append((evening_at, "schedule_evening",
                           lambda: self._schedule("evening", texts["evening"], at(SLOTS["evening"]))))
            for i, frac in enumerate(EMERGENCIES):
                events.append((frac, f"emergency_{i + 1}", lambda i=i: self._emergency(alarm, i)))
        for frac, name, action in sorted(events, key=lambda e: e[0]):
            wait_for(lambda: time.monotonic() - t0 >= frac * day, timeout=day + 60, interval=0.2, what=name)
            log.info("t=%.0f s: %s", time.monotonic() - t0, name)
            began_at = time.time()
            action()
            if not name.startswith(("schedule", "emergency", "bridge_healed")):
                ended_at = time.time() + (PARTITION_SPAN * day if name == "bridge_partition" else 0)
                self._fault_times.append((began_at, ended_at, name))
            if name == "bridge_healed":
                self._watch_drain("bridge_partition")
            elif not name.startswith(("schedule", "emergency")):
                self.report.faults_done.append(name)
                self._watch_drain(name)
        end = max(day, self.relay_end + 3 - wall0.timestamp()) if self.relay_id else day  # the relay's last events
        wait_for(lambda: time.monotonic() - t0 >= end, timeout=end + 600, interval=0.5, what="the end of the day")

    def _schedule(self, what: str, b: dict, start) -> None:
        start = max(start, utcnow() + timedelta(seconds=8))  # a fault before it took longer than its slice of the day
        bc = self._api_retry(lambda: self.ctl.api.post("/api/broadcasts", {
            "bulletin_id": b["id"], "starts_at": format_time(start), "targets": ["tinh"]}))
        assert bc["status"] == "approved", bc
        self.broadcasts.append((what, bc["id"]))
        self.slot_times[bc["id"]] = start.timestamp()

    def _schedule_relay(self, start, seconds: float) -> None:
        """The relay slot, for the real agents only: a simulated device has no stream player."""
        start = max(start, utcnow() + timedelta(seconds=RELAY_LEAD_S)).replace(microsecond=0)
        bc = self._api_retry(lambda: self.ctl.api.post("/api/relays", {
            "source_id": "vov1", "starts_at": format_time(start), "duration_s": int(seconds),
            "targets": list(self.agent_ids)}))
        assert bc["status"] == "approved", bc
        self.relay_id, self.relay_at, self.relay_end = bc["id"], start.timestamp(), start.timestamp() + int(seconds)

    def _emergency(self, alarm: dict, i: int) -> None:
        em = self._api_retry(lambda: self.ctl.api.post("/api/emergency", {
            "targets": ["tinh"], "bulletin_id": alarm["id"], "reason": f"province-day-{i + 1}"}))
        self.broadcasts.append((f"emergency {i + 1}", em["broadcast_id"]))
        if em.get("cut_off"):
            log.info("emergency %d: %d clusters cut off at sending", i + 1, len(em["cut_off"]))

    def _api_retry(self, call: Callable[[], dict]) -> dict:
        """The controller may be restarting (a fault): try again for a bounded time."""
        deadline = time.monotonic() + 90
        while True:
            try:
                return call()
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    # --- faults --------------------------------------------------------------------------
    def _span(self, frac: float, minimum: float) -> float:
        return max(minimum, frac * self.size.day_s)

    def _hold(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        wait_for(lambda: time.monotonic() >= end, timeout=seconds + 5, interval=0.2, what="the fault's span")

    def _fault_province_broker_restart(self) -> None:
        self.rig.broker.stop()
        self._hold(self._span(0.01, 3))
        self.rig.broker.start()

    def _fault_commune_broker_restart(self) -> None:
        b = self.rig.communes[list(self.communes)[-1]]
        b.stop()
        self._hold(self._span(0.01, 3))
        b.start()

    def _fault_agents_killed_during_play(self) -> None:
        self._kill_agents(count=2, after_s=1.5)

    def _fault_agents_killed_during_download(self) -> None:
        self._kill_agents(count=2, after_s=0.3, offset=2)

    def _kill_agents(self, count: int, after_s: float, offset: int = 0) -> None:
        """SIGKILL ``count`` agents ``after_s`` into the event (a play's first seconds, a download's), then restart."""
        self._hold(after_s)
        chosen = list(self.agents.values())[offset:offset + count]
        for a in chosen:
            a.stop(signal.SIGKILL)
        self._hold(3)
        for a in chosen:
            a.start()

    def _fault_bridge_partition(self) -> None:
        self.rig.proxies[list(self.communes)[0]].cut()

    def _heal_partition(self) -> None:
        self.rig.proxies[list(self.communes)[0]].heal()

    def _fault_controller_killed(self) -> None:
        """SIGKILL, then what systemd does to the rest of the unit's control group: its Icecast and
        ffmpeg encoders (started in sessions of their own) go with it, then the unit restarts."""
        children = _descendants(self.ctl.proc.pid) if self.ctl.proc is not None else []
        self.ctl.stop(signal.SIGKILL)
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._hold(3)
        self.ctl.start()
        wait_for(lambda: self._health(), timeout=120, interval=0.5, what="the controller back")

    def _health(self) -> bool:
        try:
            return bool(self.ctl.api.get("/api/health").get("mqtt_connected"))
        except OSError:
            return False

    def _fault_slow_lossy_bridge(self) -> None:
        """The last commune's bridge slowed (every chunk delayed) and dropped three times (a lossy radio hop)."""
        proxy = self.rig.proxies[list(self.communes)[-1]]
        proxy.delay_s = 0.2
        for _ in range(3):
            self._hold(self._span(0.01, 2))
            proxy.cut()
            self._hold(1)
            proxy.heal()
        proxy.delay_s = 0.0

    def _fault_power_cut(self) -> None:
        for a in self.agents.values():
            if a.proc is not None:
                a.proc.kill()
        self.fleet.power_cut()
        for b in [self.rig.broker, *self.rig.communes.values()]:
            if b.proc is not None:
                b.proc.send_signal(signal.SIGKILL)
                b.proc.wait()
                b.proc = None
        for a in self.agents.values():
            a.stop()
        self._hold(self._span(0.01, 5))
        self.rig.broker.start()
        for b in self.rig.communes.values():
            b.start()
        for a in self.agents.values():
            a.start()
        self.fleet.power_back()

    # --- end -----------------------------------------------------------------------------
    def _outboxes(self) -> int:
        total = self.fleet.outbox_total()
        for a in self.agents.values():
            try:
                total += a.outbox_size()
            except sqlite3.Error:
                total += 1
        return total

    def _watch_drain(self, fault: str) -> None:
        """Time, from the end of this fault, until every outbox is empty (a later fault starts the clock again)."""
        self._drain_watch += 1
        mine, ended = self._drain_watch, time.monotonic()

        def watch() -> None:
            while self._drain_watch == mine and not self._closing.is_set():
                if self._outboxes() == 0:
                    if self._drain_watch == mine:
                        self.report.drain_s, self.report.drain_after = time.monotonic() - ended, fault
                    return
                time.sleep(0.5)

        self.report.drain_s = None
        threading.Thread(target=watch, name=f"drain-{fault}", daemon=True).start()

    def _on_air(self) -> list[tuple[str, str]]:
        """(device, item) of the real agents' plays that started and have not ended yet."""
        with self.ctl.db() as conn:
            rows = conn.execute("SELECT device_id, item_id, kind FROM playback_events WHERE device_id IN "
                                f"({','.join('?' * len(self.agents))})", list(self.agents)).fetchall()
        kinds: dict[tuple[str, str], set[str]] = {}
        for device, item, kind in rows:
            kinds.setdefault((device, item), set()).add(kind)
        ends = {"interrupted", "failed"}
        return sorted(key for key, k in kinds.items()
                      if ("started" in k and not k & (ends | {"finished"}))
                      or ("stream_started" in k and not k & (ends | {"stream_finished"})))

    def _quiet(self) -> None:
        """Wait until no real agent is on air: an emergency started late in the day still plays to its end,
        else stopping the agents would write an ``interrupted`` event no agent is left to send."""
        try:
            wait_for(lambda: not self._on_air(), timeout=self.drain_bound_s, interval=0.5, what="every play ended")
        except AssertionError:
            log.warning("still on air at the end of the day: %s", self._on_air())

    def _drain(self) -> None:
        try:
            wait_for(lambda: self._outboxes() == 0, timeout=self.drain_bound_s, interval=1, what="every outbox drained")
            if self.report.faults_done:
                wait_for(lambda: self.report.drain_s is not None, timeout=5, interval=0.2, what="the drain timed")
        except AssertionError:
            left = {d: n for d, n in ((d, len(x.outbox)) for d, x in self.fleet.devices.items()) if n}
            log.warning("outboxes not drained: %d events left; simulated devices %s", self._outboxes(), left)

    def _collect(self) -> None:
        r = self.report
        commune_of = {**self.agent_ids, **self.sim_ids}
        with self.ctl.db() as conn:
            rows = conn.execute("SELECT device_id, epoch, seq, kind, item_id, broadcast_id, planned_at, actual_start "
                                "FROM playback_events").fetchall()
            durations = conn.execute("SELECT device_id, broadcast_id, duration_s FROM playback_events "
                                     "WHERE kind IN ('finished', 'interrupted')").fetchall()
        r.commune_of = commune_of
        started = {(d, b) for d, _e, _s, k, _i, b, _p, _a in rows if k == "started"}
        emergency_ids = {bc for what, bc in self.broadcasts if what.startswith("emergency")}
        on_air: dict[str, list[tuple[float, float]]] = {}  # device -> emergency spans
        # From the emergency's sending (it holds the floor while its file arrives) to the end of its play.
        begun = {(d, b): (parse_time(p, "p").timestamp(), parse_time(a, "a").timestamp())
                 for d, _e, _s, k, _i, b, p, a in rows if k == "started" and b in emergency_ids and a and p}
        for d, b, dur in durations:
            if (d, b) in begun:
                sent, played = begun[(d, b)]
                on_air.setdefault(d, []).append((sent, played + (dur or 0)))
        planned = {b: t for b, t in self.slot_times.items()}
        for what, bc in self.broadcasts:
            for device, commune in commune_of.items():
                r.expected[commune] = r.expected.get(commune, 0) + 1
                if (device, bc) in started:
                    r.aired[commune] = r.aired.get(commune, 0) + 1
                elif bc in planned and any(a <= planned[bc] <= e for a, e in on_air.get(device, [])):
                    r.yielded.append((device, what))
                else:
                    r.missed.append((device, what))
        generated = {d: issued_seqs(a) for d, a in self.agents.items()}
        generated.update(self.fleet.generated())
        stored: dict[str, list[int]] = {}
        for d, _e, s, *_rest in rows:
            stored.setdefault(d, []).append(s)
        r.generated = sum(generated.values())
        r.stored = sum(len(v) for d, v in stored.items() if d in generated)
        r.lost = sum(len(set(range(1, n + 1)) - set(stored.get(d, []))) for d, n in generated.items())
        r.duplicated = sum(len(v) - len(set(v)) for v in stored.values())
        seen: dict[tuple[str, str, str], int] = {}
        for d, _e, _s, k, i, _b, _p, _a in rows:
            if k in ("started", "finished"):
                seen[(d, i, k)] = seen.get((d, i, k), 0) + 1
        r.repeated_records = sum(n - 1 for n in seen.values() if n > 1)
        emergencies = {bc for what, bc in self.broadcasts if what.startswith("emergency")}
        errors: dict[bool, list[float]] = {True: [], False: []}
        on_agents: list[float] = []
        for d, _e, _s, k, _i, b, p, a in rows:
            if k == "started" and p and a:
                ms = (parse_time(a, "a") - parse_time(p, "p")).total_seconds() * 1000
                errors[b in emergencies].append(ms)
                if b not in emergencies and d in self.agents:
                    on_agents.append(ms)
        r.start_error_ms, r.emergency_start_ms = _percentiles(errors[False]), _percentiles(errors[True])
        r.agent_start_ms = _percentiles(on_agents)
        r.sim_downloads = self.fleet.downloads()
        if self.relay_id:
            r.relay = self._collect_relay(commune_of, on_air)
        out = self.rig.cli("audit", "verify", check=False)
        r.audit_ok = out.returncode == 0
        r.audit_output = (out.stdout + out.stderr).strip()[-2000:]

    def _collect_relay(self, commune_of: dict[str, str], on_air: dict[str, list[tuple[float, float]]]) -> RelayReport:
        slot = self.relay_end - self.relay_at
        rr = RelayReport(slot, format_time(datetime.fromtimestamp(self.relay_at, tz=timezone.utc)))
        rr.faults_during = [n for b, e, n in self._fault_times if b < self.relay_end and e > self.relay_at]
        with self.ctl.db() as conn:
            rows = conn.execute("SELECT device_id, kind, reason, duration_s, planned_at, actual_start "
                                "FROM playback_events WHERE broadcast_id = ? ORDER BY device_id, epoch, seq",
                                [self.relay_id]).fetchall()
        by_device: dict[str, list[tuple[str, str, float | None, str | None, str | None]]] = {}
        for d, k, why, dur, p, a in rows:
            by_device.setdefault(d, []).append((k, why, dur, p, a))
        first_starts: list[float] = []
        for device in self.agent_ids:
            c = commune_of[device]
            rr.expected[c] = rr.expected.get(c, 0) + 1
            events = by_device.get(device, [])
            kinds = [k for k, *_ in events]
            rr.aired_s[c] = rr.aired_s.get(c, 0.0) + sum(dur or 0.0 for k, _w, dur, _p, _a in events
                                                         if k in ("stream_finished", "interrupted"))
            rr.gaps.setdefault(c, []).extend(dur or 0.0 for k, _w, dur, _p, _a in events if k == "stream_gap")
            starts = [(p, a) for k, _w, _d, p, a in events if k == "stream_started" and p and a]
            if starts:
                p, a = starts[0]
                first_starts.append((parse_time(a, "a") - parse_time(p, "p")).total_seconds() * 1000)
            cuts = [why or k for k, why, *_ in events if k == "interrupted"]
            if "stream_finished" in kinds:
                rr.aired[c] = rr.aired.get(c, 0) + 1
                if cuts:
                    rr.rejoined.append((device, ", ".join(cuts)))
            elif kinds and kinds[-1] == "interrupted" and events[-1][1] == "preempted":
                rr.yielded.append(device)
            elif not starts and any(a <= self.relay_at and e >= self.relay_end for a, e in on_air.get(device, [])):
                rr.yielded.append(device)  # an emergency held the speaker through the whole slot
            elif not starts:
                rr.missed.append((device, next((f"{k} {w}".strip() for k, w, *_ in events if k in ("skipped", "failed")),
                                               "no stream_started")))
            else:
                rr.missed.append((device, f"cut short ({', '.join(cuts) or kinds[-1]}), not rejoined"))
        rr.start_error_ms = _percentiles(first_starts)
        return rr

    def close(self) -> None:
        self._closing.set()
        if self.fleet is not None:
            self.fleet.close()
        self.rig.close()
        if self.hls is not None:
            self.hls.close()
        if self._icecast_dir is not None:
            shutil.rmtree(self._icecast_dir, ignore_errors=True)


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (read from /proc), deepest last: what a service's control group holds."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        below = [p for p, pp in parent.items() if pp in frontier]
        found += below
        frontier = below
    return found


def write_results(report: DayReport, results: Path, doc: Path | None) -> None:
    """The soak keys into bench/results.json, and the report's text where docs/performance.md takes it."""
    data = json.loads(results.read_text()) if results.exists() else {}
    data.update(soak_events_lost=report.lost + report.duplicated, soak_plays_missed=report.plays_missed)
    results.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    if doc is not None:
        doc.write_text(report.markdown())


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="province_day", description=__doc__.split("\n\n")[0])
    p.add_argument("--communes", type=int, default=3)
    p.add_argument("--agents", type=int, default=30)
    p.add_argument("--sims", type=int, default=1000)
    p.add_argument("--day-s", type=float, default=600.0, help="length of the compressed day (s)")
    p.add_argument("--fault", action="append", default=[], help="only these faults of the timetable")
    p.add_argument("--no-relay", action="store_true", help="no relay slot (and no Icecast on the controller)")
    p.add_argument("--root", type=Path, default=None, help="working directory (default: a temporary one)")
    p.add_argument("--results", type=Path, default=REPO / "bench" / "results.json")
    p.add_argument("--doc", type=Path, default=REPO / "bench" / "province_day.md")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    size = DaySize(args.communes, args.agents, args.sims, args.day_s, tuple(args.fault), relay=not args.no_relay)
    with tempfile.TemporaryDirectory(prefix="province-day-") as tmp:
        report = ProvinceDay(args.root or Path(tmp), size).run()
    write_results(report, args.results, args.doc)
    sys.stdout.write(report.markdown())
    return 0 if report.lost == 0 and report.duplicated == 0 and report.plays_missed == 0 and report.audit_ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
