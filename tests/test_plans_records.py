"""The plans package answers frozen records, never loose dicts, and each record's ``to_dict`` is its API JSON."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import timedelta

import pytest

import controller.plans as plans_package
from controller.people.actor import Actor
from controller.plans import use_cases as plans
from controller.plans import worklists
from loaxa.local_time import to_local
from loaxa.wire_time import utcnow
from support.world import make_world, tomorrow_10h


def _is_frozen_record(value: object) -> bool:
    return dataclasses.is_dataclass(value) and type(value).__dataclass_params__.frozen  # type: ignore[union-attr]


def _actor(c, username: str) -> Actor:
    user = c.users.get(username)
    return Actor.of(user, c.users.scope(user), "10.0.0.5")


@pytest.fixture
def world(tmp_path):
    w = make_world(tmp_path)
    yield w
    w.controller.stop()


def test_no_public_use_case_of_the_plans_is_declared_to_return_a_dict():
    for module in (plans, worklists):
        public = [(name, fn) for name, fn in inspect.getmembers(module, inspect.isfunction)
                  if not name.startswith("_") and fn.__module__ == module.__name__]
        assert len(public) >= 3
        for name, fn in public:
            returned = str(fn.__annotations__.get("return"))
            assert not returned.startswith("dict") and "list[dict" not in returned, f"{module.__name__}.{name}"


def test_every_record_the_package_exports_is_frozen():
    records = [getattr(plans_package, n) for n, module in plans_package._EXPORTS.items() if module == "records"]
    assert len(records) > 20
    for cls in records:
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, cls.__name__


def test_the_use_cases_answer_frozen_records_whose_to_dict_is_the_api_json(world):
    c = world.controller
    editor, approver, root = _actor(c, "editor-a"), _actor(c, "approver-a"), _actor(c, "root")
    bulletin = plans.add_bulletin(c, editor, "Họp dân", "Thông báo. Sáng mai họp dân tại nhà văn hóa thôn.")
    bc = plans.schedule_broadcast(c, editor, bulletin.id, tomorrow_10h(), ["thon-a"])
    approved = plans.approve_broadcast(c, approver, bc.id, "Đồng ý")
    day = to_local(utcnow() + timedelta(days=1)).date().isoformat()
    facts = plans.schedule_form_facts(c, editor, bulletin.id, {"recurrence": "once", "start_date": day,
                                                                "slot_times": "15:00"})
    emergency = plans.trigger_emergency(c, root, ["xa-a"], {"text": "Khẩn cấp. Nước lũ đang lên.", "reason": "lũ"})
    answers = [bulletin, bc, approved, facts, emergency, plans.emergency_status(c, root, emergency.broadcast_id),
               plans.guardrails_of(c, root, "xa-a"), plans.broadcast_in_scope(c, editor, bc.id),
               *plans.visible_bulletins(c, editor), *plans.visible_broadcasts(c, editor),
               *plans.visible_emergencies(c, root), *plans.readiness_in_scope(c, root, hours=48),
               *plans.guardrails_page(c, root), worklists.my_work(c, editor),
               *worklists.approval_queue(c, approver, "approved"), worklists.broadcast_detail(c, editor, bc.id)]
    assert plans.readiness_in_scope(c, root, hours=48), "the approved broadcast airs within two days"
    for answer in answers:
        assert _is_frozen_record(answer), type(answer).__name__
    with pytest.raises(dataclasses.FrozenInstanceError):
        approved.status = "draft"  # type: ignore[misc]
    assert approved.status == "approved" and approved.devices == ("loa-a",)

    assert world.call("editor", "GET", f"/api/broadcasts/{bc.id}").json == plans.broadcast_in_scope(
        c, editor, bc.id).to_dict()
    assert world.call("editor", "GET", f"/api/bulletins/{bulletin.id}").json == bulletin.to_dict()
    assert world.call("root", "GET", "/api/emergencies").json == [e.to_dict() for e in plans.visible_emergencies(c, root)]
    assert world.call("root", "GET", "/api/readiness?hours=48").json == [
        r.to_dict() for r in plans.readiness_in_scope(c, root, hours=48)]
    assert world.call("root", "GET", "/api/units/xa-a/guardrails").json == plans.guardrails_of(c, root, "xa-a").to_dict()
