"""The facts a person sees before deciding: length against the configured limit, occurrences, names."""

from __future__ import annotations

from datetime import timedelta

import pytest

from controller.errors import InputError
from controller.people.actor import Actor
from controller.plans import use_cases as plans
from loaxa.local_time import to_local
from loaxa.wire_time import utcnow
from support.world import make_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = make_world(tmp_path_factory.mktemp("facts"), schedules_reading_limit_minutes="0.01",
                   schedules_quiet_start="00:00", schedules_quiet_end="00:00")
    yield w
    w.controller.stop()


def _actor(c, username: str) -> Actor:
    user = c.users.get(username)
    return Actor.of(user, c.users.scope(user), "10.0.0.7")


def test_a_reading_past_the_configured_limit_is_flagged_with_its_occurrences(world):
    c = world.controller
    editor = _actor(c, "editor-a")
    bulletin = plans.add_bulletin(c, editor, "Họp dân", "Thông báo. Sáng mai họp dân tại nhà văn hóa thôn.")
    first = to_local(utcnow() + timedelta(days=1))
    form = {"recurrence": "daily", "start_date": first.date().isoformat(),
            "end_date": (first + timedelta(days=2)).strftime("%d/%m/%Y"), "slot_times": "0630, 17h"}
    facts = plans.schedule_form_facts(c, editor, bulletin.id, form)
    assert facts.length.limit_minutes == 0.01 and facts.length.over_limit is True
    assert facts.occurrences.count == 6 and facts.occurrences.dates[0].startswith("06:30")
    with pytest.raises(InputError) as err:
        plans.schedule_form_facts(c, editor, bulletin.id, {**form, "end_date": ""})
    assert err.value.code == "end_date_required"


def test_the_http_answer_is_a_vietnamese_400_for_a_bad_time(world):
    r = world.call("editor", "POST", "/api/compose/schedule-facts",
                   json={"recurrence": "once", "start_date": "2030-01-01", "slot_times": "6h7x"})
    assert r.status_code == 400 and r.json["field"] == "slot_times" and "“6h7x”" in r.json["error"]
