"""Property tests: whatever is stored, plans never overlap, keep priority order and obey the guardrails.

Dates are drawn next to calendar edges (New Year, end of February in a leap year and not,
end of a 30- and 31-day month) so midnight, month and year boundaries are always in play.
The guardrail oracle below is written independently of ``Guardrails.in_quiet_hours``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from support.schedule_builders import DEVICES, UNITS
from schedules.broadcast import LIFTABLE, Broadcast, Override
from schedules.check import check_broadcast
from schedules.guardrails import GuardrailPolicy, Guardrails
from schedules.programme import expand
from schedules.rules import BroadcastRule, occurrences, parse_rule_vi
from schedules.timeutil import LOCAL_TZ, day_span, local_date, to_local, to_utc
from schedules.tree import AdminTree

TREE = AdminTree(UNITS, DEVICES)
NODES = sorted([u.id for u in UNITS] + [d.id for d in DEVICES])
EDGES = [date(2021, 12, 30), date(2024, 2, 27), date(2023, 2, 26), date(2021, 9, 29), date(2022, 1, 30)]
RANK = {"emergency": 0, "priority": 1, "normal": 2}

PROPERTY = settings(max_examples=int(__import__("os").environ.get("SCHED_EXAMPLES", 60)), deadline=None, suppress_health_check=[HealthCheck.too_slow])

slot_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 0, 5, 15, 30, 45, 55, 59]))
weekday_sets = st.one_of(st.just(frozenset(range(7))), st.frozensets(st.integers(0, 6), min_size=1))


@st.composite
def rules(draw, edge: date | None = None) -> BroadcastRule:
    start = (edge or draw(st.sampled_from(EDGES))) + timedelta(days=draw(st.integers(0, 3)))
    return BroadcastRule(
        start_date=start,
        end_date=start + timedelta(days=draw(st.integers(0, 4))),
        slot_times=tuple(draw(st.lists(slot_times, min_size=1, max_size=3))),
        weekdays=draw(weekday_sets),
        repeats=draw(st.integers(1, 3)),
        repeat_gap=timedelta(seconds=draw(st.sampled_from([0, 0, 30, 90, 120]))),
    )


@st.composite
def broadcast_lists(draw, edge: date) -> list[Broadcast]:
    out = []
    for i in range(draw(st.integers(1, 7))):
        override = None
        if draw(st.booleans()) and draw(st.booleans()):
            lifts = draw(st.frozensets(st.sampled_from(sorted(LIFTABLE)), min_size=1))
            override = Override(by="Cán bộ xã", reason="Lý do được ghi nhận", lifts=lifts)
        out.append(
            Broadcast(
                id=f"b{i}",
                rule=draw(rules(edge)),
                targets=draw(st.frozensets(st.sampled_from(NODES), min_size=1, max_size=3)),
                duration_s=draw(st.sampled_from([30.0, 90.0, 300.0, 600.0, 1200.0, 2400.0])),
                priority=draw(st.sampled_from(["normal", "normal", "priority", "emergency"])),
                order=draw(st.integers(0, 3)),
                override=override,
            )
        )
    return out


@st.composite
def policies(draw) -> GuardrailPolicy:
    overrides = {}
    for unit in draw(st.lists(st.sampled_from([u.id for u in UNITS]), max_size=3, unique=True)):
        overrides[unit] = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "quiet_start": slot_times,
                    "quiet_end": slot_times,
                    "max_programmes_per_day": st.one_of(st.none(), st.integers(0, 3)),
                    "max_minutes_per_programme": st.one_of(st.none(), st.sampled_from([5, 15, 45])),
                    "weekend_days": st.frozensets(st.integers(0, 6)),
                    "weekend_normal_allowed": st.booleans(),
                    "weekend_max_programmes_per_day": st.one_of(st.none(), st.integers(0, 2)),
                    "weekend_max_minutes_per_programme": st.one_of(st.none(), st.sampled_from([10, 30])),
                },
            )
        )
    return GuardrailPolicy(overrides_by_unit=overrides)


windows = st.builds(
    lambda day, hour: to_utc(datetime.combine(day, time(hour))),
    st.sampled_from(EDGES).map(lambda d: d + timedelta(days=1)),
    st.integers(0, 23),
)


@st.composite
def scenarios(draw) -> tuple[list[Broadcast], GuardrailPolicy, datetime]:
    """Broadcasts, guardrails and a window start, all around the same calendar edge."""
    edge = draw(st.sampled_from(EDGES))
    start = to_utc(datetime.combine(edge + timedelta(days=draw(st.integers(0, 3))), time(draw(st.integers(0, 23)))))
    return draw(broadcast_lists(edge)), draw(policies()), start


def quiet_oracle(g: Guardrails, start: datetime, end: datetime) -> bool:
    """Independent: the play is in quiet hours iff it starts in them or a quiet period begins during it."""
    if g.quiet_start == g.quiet_end:
        return False
    s, e = to_local(start).replace(tzinfo=None), to_local(end).replace(tzinfo=None)
    tod = s.time()
    inside = g.quiet_start <= tod < g.quiet_end if g.quiet_start < g.quiet_end else (tod >= g.quiet_start or tod < g.quiet_end)
    begins = any(s < datetime.combine(d, g.quiet_start) < e for d in day_span(s.date() - timedelta(days=1), e.date()))
    return inside or begins


def assert_plan_is_sound(result, broadcasts, policy):
    by_id = {b.id: b for b in broadcasts}
    by_device = defaultdict(list)
    for p in result.plays:
        by_device[p.device_id].append(p)
    for device, plays in by_device.items():
        g = policy.for_device(TREE, device)
        plays.sort(key=lambda p: p.start_utc)
        for a, b in zip(plays, plays[1:]):
            assert a.end_utc <= b.start_utc, f"overlap on {device}: {a} / {b}"
        programmes = defaultdict(list)
        for p in plays:
            programmes[p.slot_utc].append(p)
            assert p.start_utc >= p.slot_utc
            b = by_id[p.broadcast_id]
            if not b.lifts("quiet_hours"):
                assert not quiet_oracle(g, p.start_utc, p.end_utc), f"quiet hours broken by {p}"
            if p.priority == "normal" and not b.lifts("weekend"):
                assert g.normal_allowed(local_date(p.slot_utc)), f"weekend rule broken by {p}"
        per_day = defaultdict(int)
        for slot, items in programmes.items():
            day = local_date(slot)
            ordered = [(RANK[p.priority], by_id[p.broadcast_id].order, p.broadcast_id, p.repeat_index) for p in items]
            assert ordered == sorted(ordered), f"priority order broken in programme {slot} on {device}"
            counted = [p for p in items if not by_id[p.broadcast_id].lifts("cap_minutes_per_programme")]
            minutes_cap = g.minutes_cap(day)
            length = sum(p.duration_s + (by_id[p.broadcast_id].rule.repeat_gap.total_seconds() if p.repeat_index else 0) for p in counted)
            assert minutes_cap is None or length <= minutes_cap * 60 + 1e-6
            if any(not by_id[p.broadcast_id].lifts("cap_programmes_per_day") for p in items):
                per_day[day] += 1
        for day, count in per_day.items():
            cap = policy.for_device(TREE, device).programmes_cap(day)
            assert cap is None or count <= cap, f"{count} programmes on {day} on {device}"


@PROPERTY
@given(scenarios())
def test_plans_never_overlap_keep_priority_order_and_obey_guardrails(scenario):
    broadcasts, policy, start = scenario
    result = expand(broadcasts, TREE, policy, start)
    assert_plan_is_sound(result, broadcasts, policy)
    keys = [(p.device_id, p.occurrence_key) for p in result.plays] + [(s.device_id, s.occurrence_key) for s in result.skipped]
    assert len(keys) == len(set(keys))


@PROPERTY
@given(scenarios())
def test_every_occurrence_is_played_or_accounted_for(scenario):
    broadcasts, policy, start = scenario
    end = start + timedelta(hours=48)
    result = expand(broadcasts, TREE, policy, start, end)
    wider = expand(broadcasts, TREE, policy, start, end + timedelta(days=2))
    seen = {(s.device_id, s.occurrence_key) for s in result.skipped} | {(p.device_id, p.occurrence_key) for p in wider.plays}
    for b in broadcasts:
        for slot in occurrences(b.rule, start, end):
            for device in TREE.devices_under(b.targets):
                for r in range(b.rule.repeats):
                    assert (device, f"{b.id}-{slot:%Y%m%d%H%M}-{r}") in seen


@PROPERTY
@given(scenarios(), st.integers(1, 40))
def test_a_rolling_re_expansion_keeps_the_shared_part_identical(scenario, hours):
    broadcasts, policy, start = scenario
    first = expand(broadcasts, TREE, policy, start)
    later = expand(broadcasts, TREE, policy, start + timedelta(hours=hours))
    shared = lambda e: {(p.device_id, p.occurrence_key, p.start_utc) for p in e.plays if later.window_start <= p.start_utc < first.window_end}  # noqa: E731
    assert shared(first) == shared(later)


@PROPERTY
@given(scenarios())
def test_an_accepted_broadcast_is_never_cut_and_cuts_nothing(scenario):
    broadcasts, policy, now = scenario
    *existing, new = broadcasts
    if check_broadcast(new, existing, TREE, policy, now):
        return
    end = now + timedelta(days=12)
    stored = [*existing, new.not_before(now)] if new.rule.all_occurrences()[-1] >= now else existing
    before = expand(existing, TREE, policy, now, end)
    after = expand(stored, TREE, policy, now, end)
    assert not [s for s in after.skipped if s.broadcast_id == new.id]
    if new.is_emergency:
        return  # an emergency takes its time even if others must give way
    cut_before = {(s.device_id, s.occurrence_key) for s in before.skipped}
    assert {(s.device_id, s.occurrence_key, s.code) for s in after.skipped if (s.device_id, s.occurrence_key) not in cut_before} == set()
    assert {(d.device_id, d.slot_utc) for d in after.delays} <= {(d.device_id, d.slot_utc) for d in before.delays}


@PROPERTY
@given(rules(), windows, st.integers(1, 200))
def test_occurrences_are_exactly_the_local_days_and_slots_of_the_rule(rule, start, hours):
    everything = rule.all_occurrences()
    days = [d for d in day_span(rule.start_date, rule.end_date) if d.weekday() in rule.weekdays]
    assert len(everything) == len(days) * len(rule.slot_times)
    assert everything == sorted(everything)
    for t in everything:
        local = t.astimezone(LOCAL_TZ)
        assert rule.start_date <= local.date() <= rule.end_date and local.weekday() in rule.weekdays
        assert local.time() in rule.slot_times
    end = start + timedelta(hours=hours)
    assert occurrences(rule, start, end) == [t for t in everything if start <= t < end]


@PROPERTY
@given(slot_times, slot_times, windows, st.integers(0, 2 * 86400), st.integers(0, 59))
def test_quiet_hours_arithmetic_matches_the_calendar(quiet_start, quiet_end, start, seconds, minute):
    g = Guardrails(quiet_start=quiet_start, quiet_end=quiet_end)
    start = start + timedelta(minutes=minute)
    end = start + timedelta(seconds=seconds)
    assert g.in_quiet_hours(start, end) == quiet_oracle(g, start, max(end, start + timedelta(microseconds=1)))


@PROPERTY
@given(rules())
def test_what_the_ui_shows_reads_back_as_the_same_schedule(rule):
    assume(rule.all_occurrences())  # a one-off on an excluded weekday describes a date that never airs
    again = parse_rule_vi(rule.describe_vi())
    assert again.all_occurrences() == rule.all_occurrences()
    assert again.repeats == rule.repeats
    assert rule.repeats == 1 or again.repeat_gap == rule.repeat_gap
