"""Use cases take an Actor and run in one transaction: policy, change, history and audit entry
commit together, or none of them does."""

from __future__ import annotations

import pytest

from controller.errors import Refused
from controller.people.actor import Actor
from controller.plans import use_cases as plans
from controller.reports import audit as audit_module
from controller.reports.audit import UnknownAuditAction
from support.world import PASSWORD, make_controller, seed_tree, tomorrow_10h


@pytest.fixture
def commune(tmp_path):
    c = make_controller(tmp_path)
    seed_tree(c)
    people = {}
    for name, role, unit in (("root", "admin", None), ("pheduyet-a", "approver", "xa-a"),
                             ("bientap-a", "editor", "xa-a")):
        user = c.users.add(name, PASSWORD, role, unit)
        people[name] = Actor.of(user, c.users.scope(user), f"10.0.0.{len(people) + 1}")
    yield c, people
    c.stop()


def _audit(c, action: str) -> list:
    return [e for e in c.audit.entries(limit=1000) if e.action == action]


def test_an_actor_carries_role_scope_and_address(commune):
    c, people = commune
    editor = people["bientap-a"]
    assert (editor.username, editor.role, editor.unit_id, editor.ip) == ("bientap-a", "editor", "xa-a", "10.0.0.3")
    assert editor.can("draft") and not editor.can("approve")
    assert editor.scope.has_device("loa-a") and not editor.scope.has_device("loa-b")
    assert people["root"].scope.whole_tree
    assert not Actor.anonymous("10.0.0.9").can("read")
    assert Actor.system("cli").can("manage")


def test_a_broadcast_outside_the_actors_scope_is_refused_and_nothing_is_stored(commune):
    c, people = commune
    editor = people["bientap-a"]
    bulletin = plans.add_bulletin(c, editor, "Họp dân", "Thông báo. Sáng mai họp dân tại nhà văn hóa.")
    assert [e.target for e in _audit(c, "bulletin_added")] == [bulletin.id]
    with pytest.raises(Refused) as refused:
        plans.schedule_broadcast(c, editor, bulletin.id, tomorrow_10h(), ["thon-b"])
    assert refused.value.code == "out_of_scope"
    assert c.broadcasts.list() == [] and _audit(c, "broadcast_scheduled") == []

    bc = plans.schedule_broadcast(c, editor, bulletin.id, tomorrow_10h(), ["thon-a"])
    [entry] = _audit(c, "broadcast_scheduled")
    assert (entry.actor, entry.target, entry.ip) == ("bientap-a", bc.id, "10.0.0.3")
    assert [h.by for h in c.broadcasts.get(bc.id).history] == ["bientap-a"]


def test_the_two_person_rule_is_the_controllers(commune):
    c, people = commune
    approver, root = people["pheduyet-a"], people["root"]
    bulletin = plans.add_bulletin(c, approver, "Lịch tiêm", "Thông báo lịch tiêm chủng cho trẻ em.")
    bc = plans.schedule_broadcast(c, approver, bulletin.id, tomorrow_10h(), ["thon-a"])
    with pytest.raises(Refused) as refused:
        plans.approve_broadcast(c, approver, bc.id, "tự duyệt")
    assert refused.value.code == "two_person_rule"
    assert c.broadcasts.get(bc.id).status == "pending_approval" and _audit(c, "broadcast_approved") == []

    approved = plans.approve_broadcast(c, root, bc.id, "Đồng ý")
    assert approved.status == "approved"
    [entry] = _audit(c, "broadcast_approved")
    assert (entry.actor, entry.details, entry.ip) == ("root", {"comment": "Đồng ý"}, "10.0.0.1")


def test_a_change_whose_audit_entry_fails_is_rolled_back(commune, monkeypatch):
    """The change, its history row and its audit entry are one transaction."""
    c, people = commune
    editor = people["bientap-a"]
    bulletin = plans.add_bulletin(c, editor, "Họp dân", "Thông báo. Sáng mai họp dân tại nhà văn hóa.")
    bc = plans.schedule_broadcast(c, editor, bulletin.id, tomorrow_10h(), ["thon-a"])
    history = c.broadcasts.get(bc.id).history
    monkeypatch.setattr(audit_module, "ACTIONS", audit_module.ACTIONS - {"broadcast_cancelled"})
    with pytest.raises(UnknownAuditAction):
        plans.cancel_broadcast(c, editor, bc.id)
    after = c.broadcasts.get(bc.id)
    assert after.status == "pending_approval" and after.history == history
    monkeypatch.undo()
    assert plans.cancel_broadcast(c, editor, bc.id).status == "cancelled"
    assert [e.target for e in _audit(c, "broadcast_cancelled")] == [bc.id]
