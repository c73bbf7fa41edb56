"""The per-day rollup: kept by ingest, the bulk loader, retention and the migration's back-fill, and the
compliance report built on it answers exactly what the report built from the events answers."""

from __future__ import annotations

import json
import threading
from datetime import date, datetime, time, timedelta

import pytest

from controller.db import _backfill_rollup, rollup_deltas
from controller.devtools.bulk_events import BulkEvent, load
from controller.operations.retention import Retention
from controller.people.actor import Actor
from controller.plan_expansion import cancelled_items, load_tree, planned_items
from controller.reports import hashchain, logbook, rollup
from controller.reports import use_cases as reports
from controller.reports.audit import verify_all
from loaxa.local_time import LOCAL_TZ, to_local
from loaxa.protocol import DeviceState, EventBatch, PlaybackEvent
from loaxa.wire_time import format_time, utcnow
from support.world import make_controller

VILLAGES = {"thon-1a": ("xa-1", ("loa-1a-1", "loa-1a-2", "loa-1a-3")), "thon-1b": ("xa-1", ("loa-1b-1", "loa-1b-2")),
            "thon-2a": ("xa-2", ("loa-2a-1", "loa-2a-2")), "thon-2b": ("xa-2", ("loa-2b-1",))}
DEVICES = tuple(d for _, ds in VILLAGES.values() for d in ds)
CLEAN = ("loa-1a-1", "loa-2a-1")  # every play due aired: counted from the rollup


def rollup_table(c) -> dict[tuple[str, str], tuple[int, ...]]:
    with c.db.tx() as db:
        return {(r[0], r[1]): tuple(r[2:]) for r in db.execute(
            "SELECT device_id, day, started, started_sum, finished, finished_sum, other, aired_us, aired_odd "
            "FROM playback_rollup").fetchall() if any(r[2:])}


def rebuilt(c) -> dict[tuple[str, str], tuple[int, ...]]:
    """The rollup the stored events make, from scratch."""
    with c.db.tx() as db:
        cur = db.execute("SELECT device_id, kind, item_id, planned_at, actual_start, recorded_at, duration_s "
                         "FROM playback_events")
        names = [d[0] for d in cur.description]
        deltas = rollup_deltas(dict(zip(names, r)) for r in cur)
    return {k: tuple(v) for k, v in deltas.items() if any(v)}


class Province:
    """Two communes of four villages, two days of programmes, and every way a play can go."""

    def __init__(self, c):
        self.c = c
        self.seq: dict[str, int] = {}
        c.registry.add_unit("tinh", "Tỉnh Thử", None, "province")
        for x in ("xa-1", "xa-2"):
            c.registry.add_unit(x, f"Xã {x[-1]}", "tinh", "commune")
        for village, (commune, devices) in VILLAGES.items():
            c.registry.add_unit(village, f"Thôn {village[-2:]}", commune, "village")
            for d in devices:
                c.registry.add_device(d, f"Cụm {d[-4:]}", village)
                c.ingest.on_state(d, DeviceState(device_id=d, online=True))
        c.ingest.on_state("loa-1b-2", DeviceState(device_id="loa-1b-2", online=False))  # away: its misses are "offline"
        self.d1 = to_local(utcnow()).date() + timedelta(days=1)
        self.d2 = self.d1 + timedelta(days=1)
        rule = {"start_date": self.d1.isoformat(), "end_date": self.d2.isoformat()}
        a = self._approved("Thông báo A", ["tinh"], {**rule, "slot_times": ["08:00", "17:00"]})
        b = self._approved("Thông báo B", ["xa-1"], {**rule, "slot_times": ["08:00"]})  # back to back after A
        cancelled = self._approved("Thông báo C", ["xa-2"], {**rule, "slot_times": ["12:00"]})
        c.cancel_broadcast(cancelled, "duyet")  # all its plays lie ahead: each is "cancelled"
        c.broadcasts.cancel_occurrence(a, format_time(self.at(self.d1, 17)), "duyet", "Trùng lịch họp xã")
        # thon-2b's quiet hours keep 08:00 out of its plans: "refused"
        c.guardrails.put(load_tree(c.db), "thon-2b", {"quiet_start": "07:30", "quiet_end": "09:00"})
        c.dispatcher.rebuild()
        since, until = self.at(self.d1, 0), self.at(self.d2 + timedelta(days=1), 0)
        policy = c.guardrails.policy()
        self.items = {d: sorted(items, key=lambda i: (i.start, i.item_id))
                      for d, items in planned_items(c.db, policy, since, until, DEVICES).items()}
        self.cancelled_items = cancelled_items(c.db, policy, since, until, DEVICES)
        self.whole_cancelled = planned_items(c.db, policy, since, until, DEVICES, status="cancelled")
        self.now = self.at(self.d2, 12, 30)  # the second day's 17:00 is still to come
        self.a, self.b = a, b

    def _approved(self, title: str, targets: list[str], rule: dict) -> str:
        bulletin = self.c.add_bulletin(title, f"{title}: lịch tiêm phòng tại trạm y tế xã.", created_by="soan")
        bc = self.c.schedule_broadcast(bulletin.id, None, targets, created_by="soan", rule=rule)
        self.c.approve_broadcast(bc.id, "duyet")
        return bc.id

    @staticmethod
    def at(day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), LOCAL_TZ)

    def send(self, device: str, *events: tuple) -> None:
        """(kind, item, **fields) events, numbered on from the device's last."""
        out = []
        for kind, item, extra in events:
            self.seq[device] = self.seq.get(device, 0) + 1
            start = item.start + timedelta(seconds=1)
            fields = {"recorded_at": start + timedelta(seconds=item.duration_s), "item_id": item.item_id,
                      "broadcast_id": item.broadcast_id, "planned_at": item.start, "actual_start": start,
                      "duration_s": round(item.duration_s, 3) if kind.endswith("finished") or kind == "interrupted"
                      else None} | extra
            out.append(PlaybackEvent(seq=self.seq[device], kind=kind, **fields))
        self.c.ingest.on_events(device, EventBatch(device_id=device, epoch="e1", events=tuple(out)))

    def due(self, device: str) -> list:
        return [i for i in self.items.get(device, []) if i.start <= self.now - timedelta(minutes=2)]

    def play(self, device: str, items: list, stream: bool = False) -> None:
        kinds = ("stream_started", "stream_finished") if stream else ("started", "finished")
        self.send(device, *((k, i, {}) for i in items for k in kinds))


@pytest.fixture
def province(tmp_path, monkeypatch):
    c = make_controller(tmp_path)
    p = Province(c)
    monkeypatch.setattr(logbook, "utcnow", lambda: p.now)
    yield p
    c.stop()


def _play_everything(p: Province) -> None:
    for d in CLEAN:
        p.play(d, p.due(d))
    upcoming = [i for i in p.items["loa-1a-2"] if i.start > p.now]
    p.play("loa-1a-2", p.due("loa-1a-2"))
    p.send("loa-1a-2", ("started", upcoming[0], {}))  # playing now: counted, and not from the rollup
    p.play("loa-1a-3", p.due("loa-1a-3")[:-1])  # its last due play never reported: missed
    first, *rest = p.due("loa-1b-1")
    p.send("loa-1b-1", ("interrupted", first, {"reason": "preempted"}))
    p.play("loa-1b-1", rest)
    p.play("loa-1b-2", p.due("loa-1b-2")[:1])  # then away: the others are "offline"
    p.play("loa-2a-2", p.due("loa-2a-2"), stream=True)  # a relay's items report as a stream
    [played_anyway] = [i for i in p.whole_cancelled["loa-2a-2"] if i.start.date() == p.d1]
    p.play("loa-2a-2", [played_anyway])  # a cancelled play that aired all the same
    p.play("loa-2b-1", p.due("loa-2b-1"))


def _both(p: Province, first: date, last: date, unit: str | None) -> tuple[dict, dict]:
    auditor = Actor.system("kiemtoan")
    fast = reports.compliance_report(p.c, auditor, first, last, unit).to_dict()
    real = rollup.tally
    with pytest.MonkeyPatch.context() as m:
        m.setattr(rollup, "tally", lambda *a, **k: real(*a, **k, from_events=True))
        slow = reports.compliance_report(p.c, auditor, first, last, unit).to_dict()
    return fast, slow


def test_the_report_from_the_rollup_is_the_report_from_the_events(province):
    p = province
    _play_everything(p)
    assert rollup_table(p.c) == rebuilt(p.c)  # ingest kept it, event by event
    devices = reports.report_scope.devices(p.c, Actor.system("kiemtoan"), "tinh")
    since, until = reports.day_bounds(p.d1, p.d2)
    counted = rollup.tally(p.c.db, p.c.guardrails.policy(), devices, since, until, {d.id: "tinh" for d in devices},
                           late=timedelta(seconds=p.c.config.plans.missed_after_s))
    assert counted.from_rollup == len(CLEAN) and counted.airtime is not None
    assert {o.device_id for o in counted.occurrences} == set(DEVICES) - set(CLEAN)
    periods = [(p.d1, p.d1), (p.d1, p.d2), (p.d2, p.d2), (p.d1 - timedelta(days=3), p.d2 + timedelta(days=5))]
    causes: set[str] = set()
    for first, last in periods:
        for unit in (None, "tinh", "xa-1", "xa-2", "thon-1a"):
            fast, slow = _both(p, first, last, unit)
            assert fast == slow, (first, last, unit)
            causes |= {o["cause"] for o in slow["not_aired"]}
    assert causes == {"missed", "offline", "preempted", "refused", "failed"}  # every way a play goes wrong, met
    fast, _ = _both(p, p.d1, p.d2, None)
    [province_row] = [r for r in fast["compliance"] if r["unit_id"] == "tinh"] or [None]
    assert province_row is None and {r["unit_id"] for r in fast["compliance"]} == {"xa-1", "xa-2"}
    assert sum(r["played"] for r in fast["compliance"]) > sum(len(p.due(d)) for d in CLEAN)
    assert fast["airtime"]["units"] and fast["by_day"]

    # a play recorded far from its day: only the event query reads that airtime right, and it does
    late = p.items["loa-1a-1"][0]
    p.send("loa-1a-1", ("finished", late, {"item_id": "", "recorded_at": p.at(p.d2, 20), "duration_s": 12.25}))
    for first, last in periods:
        fast, slow = _both(p, first, last, None)
        assert fast == slow, (first, last)


def test_retention_and_the_migration_leave_the_rollup_as_the_events_make_it(tmp_path):
    c = make_controller(tmp_path, retention_playback_events_days="400")
    try:
        c.registry.add_unit("tinh", "Tỉnh", None, "province")
        for d in ("loa-1", "loa-2"):
            c.registry.add_device(d, d, "tinh")
        now = utcnow()
        days = [now - timedelta(days=430 - n) for n in range(3)] + [now - timedelta(days=5 - n) for n in range(3)]
        events = [BulkEvent(d, seq, kind, f"bc-{n}-{slot}", "bc", "ab" * 32, format_time(t), format_time(t), 5.0,
                            format_time(t + timedelta(seconds=5)), format_time(t))
                  for d in ("loa-1", "loa-2")
                  for seq, (n, slot, kind, t) in enumerate(
                      ((n, slot, kind, day + timedelta(hours=slot)) for n, day in enumerate(days) for slot in (1, 9)
                       for kind in ("started", "finished")), start=1)]
        load(c.db, events, batch=7)
        assert rollup_table(c) == rebuilt(c) and len(rollup_table(c)) >= 12  # the bulk loader kept it
        with c.db.tx() as db:
            db.execute("DELETE FROM playback_rollup")
            _backfill_rollup(db.conn)
        assert rollup_table(c) == rebuilt(c)  # the migration's back-fill writes what ingest would have
        report = Retention(c.db, c.config.retention, c.config.media_dir).run(now=now)
        assert report.playback_events == 2 * 3 * 2 * 2
        assert rollup_table(c) == rebuilt(c) and all(day >= format_time(now - timedelta(days=10))[:10]
                                                      for _, day in rollup_table(c))
        assert all(r.ok for r in verify_all(c.db))
    finally:
        c.stop()


def test_ingest_stores_while_retention_reads_and_checks_a_chain(tmp_path, monkeypatch):
    """Retention reads and verifies each chain on a connection of its own, without the lock ingest needs."""
    c = make_controller(tmp_path, retention_playback_events_days="400")
    try:
        c.registry.add_unit("tinh", "Tỉnh", None, "province")
        for d in ("loa-old", "loa-new"):
            c.registry.add_device(d, d, "tinh")
        old = utcnow() - timedelta(days=500)
        load(c.db, [BulkEvent("loa-old", s, "finished", f"bc-{s}", "bc", "ab" * 32, format_time(old),
                              format_time(old), 5.0, format_time(old), format_time(old)) for s in range(1, 4)])
        checking, release = threading.Event(), threading.Event()
        real = hashchain.prefix_intact

        def slow_check(*args, **kwargs):
            checking.set()
            assert release.wait(30), "ingest never got through while the chain was being checked"
            return real(*args, **kwargs)

        monkeypatch.setattr(hashchain, "prefix_intact", slow_check)
        results = []
        prune = threading.Thread(target=lambda: results.append(
            Retention(c.db, c.config.retention, c.config.media_dir).run()))
        prune.start()
        assert checking.wait(30)
        now = utcnow()
        c.ingest.on_events("loa-new", EventBatch(device_id="loa-new", epoch="e1", events=(
            PlaybackEvent(seq=1, kind="finished", recorded_at=now, item_id="bc-x", broadcast_id="bc-x",
                          planned_at=now, actual_start=now, duration_s=3.0),)))  # would wait on the lock before
        release.set()
        prune.join(30)
        assert not prune.is_alive() and results[0].playback_events == 3
        with c.db.tx() as db:
            assert [r[0] for r in db.execute("SELECT device_id FROM playback_events")] == ["loa-new"]
        assert rollup_table(c) == rebuilt(c) and all(r.ok for r in verify_all(c.db))
    finally:
        c.stop()


def test_the_logbook_export_streams_its_first_bytes_before_its_last_rows(tmp_path):
    import io

    from openpyxl import load_workbook

    from controller.reports.spreadsheet import FLUSH_ROWS

    taken = []
    import hashlib

    rows = [logbook.LogbookRow(date=f"{n % 28 + 1:02d}/12/2026", title=f"Bản tin {n}", duration=float(n),
                               note=hashlib.sha256(str(n).encode()).hexdigest(),  # text that does not compress away
                               planned_at=format_time(datetime(2026, 12, n % 28 + 1, 1, tzinfo=LOCAL_TZ)))
            for n in range(FLUSH_ROWS * 20)]

    def read():
        for n, r in enumerate(rows):
            taken.append(n)
            yield r

    chunks = logbook.logbook_xlsx_stream(read(), "Sổ nhật ký")
    first = next(chunks)
    assert first.startswith(b"PK") and not taken  # the file has begun before any row was read
    seen = [len(taken)]
    rest = []
    for chunk in chunks:
        rest.append(chunk)
        seen.append(len(taken))
    assert len(set(seen)) > 5 and seen[1] < len(rows) // 2  # rows are read as the file is written, not all first
    sheet = load_workbook(io.BytesIO(first + b"".join(rest))).active
    assert sheet.max_row >= len(rows) + 2 and sheet["E3"].value == "Bản tin 0" and sheet["D1002"].value == 999.0
    assert sheet.auto_filter.ref == f"A2:N{len(rows) + 2}" and sheet["A3"].number_format == "DD/MM/YYYY"
    assert json.dumps(sheet["E4"].value) == json.dumps("Bản tin 1")
