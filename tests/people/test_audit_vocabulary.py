"""The audit trail speaks a closed vocabulary: ``record()`` refuses an action outside it, and
every place that records names an action of it.

The source walk finds each ``….audit.record(…)`` / ``AuditTrail(…).record(…)`` call in the
controller and the web layer and resolves its action argument (a literal, a choice between
literals, or a lookup in a table of literals); an action added to a use case but not to the
vocabulary fails here instead of at the first real request.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from controller.fleet.care import CARE_ACTIONS, CARE_AUDIT_ACTIONS
from controller.people.actor import Actor
from controller.reports.audit import ACTIONS, UnknownAuditAction
from support.world import make_controller

ROOT = Path(__file__).resolve().parents[2]
# Action arguments that are lookups in a table of literals; the table's values are checked below.
LOOKUP_TABLES = {"CARE_AUDIT_ACTIONS": CARE_AUDIT_ACTIONS}


def _is_audit_record(call: ast.Call) -> bool:
    """``<…>.audit.record(…)``, ``audit.record(…)`` or ``AuditTrail(…).record(…)``."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr == "record"):
        return False
    owner = func.value
    if isinstance(owner, ast.Attribute):
        return owner.attr == "audit"
    if isinstance(owner, ast.Name):
        return owner.id == "audit"
    return isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "AuditTrail"


def _actions(node: ast.expr, where: str) -> list[str]:
    """The action names an argument can take, or a failure message naming the call site."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _actions(node.body, where) + _actions(node.orelse, where)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in LOOKUP_TABLES:
        return list(LOOKUP_TABLES[node.value.id].values())
    raise AssertionError(f"{where}: the audit action is not a literal of the vocabulary: {ast.unparse(node)}")


def audit_call_sites() -> dict[str, list[str]]:
    """Every audit ``record`` call in the product's source: ``file:line`` → the actions it may record."""
    sites: dict[str, list[str]] = {}
    for package in ("controller", "web"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and _is_audit_record(node)):
                    continue
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                action = next((k.value for k in node.keywords if k.arg == "action"), None)
                if action is None:
                    assert len(node.args) > 1, f"{where}: an audit call without an action"
                    action = node.args[1]
                sites[where] = _actions(action, where)
    return sites


def test_every_recorded_action_is_in_the_vocabulary():
    sites = audit_call_sites()
    assert len(sites) >= 20, sorted(sites)  # the walk does find the use cases' audit writes
    unknown = {where: [a for a in actions if a not in ACTIONS] for where, actions in sites.items()}
    assert {k: v for k, v in unknown.items() if v} == {}


def test_every_care_command_has_an_audit_action():
    assert set(CARE_AUDIT_ACTIONS) == set(CARE_ACTIONS)
    assert set(CARE_AUDIT_ACTIONS.values()) <= ACTIONS


def test_an_unknown_action_is_refused_and_nothing_is_written(tmp_path):
    c = make_controller(tmp_path)
    try:
        before = c.audit.entries(limit=1000)
        with pytest.raises(UnknownAuditAction):
            c.audit.record("chutich", "broadcast_teleported", "bc-1")
        with pytest.raises(UnknownAuditAction):
            c.audit.record("chutich", "")
        assert c.audit.entries(limit=1000) == before
        entry_id = c.audit.record(Actor.system("cli", "10.0.0.9"), "unit_added", "xa-a", {"parent_id": None})
        entry = c.audit.entries(limit=1)[0]
        assert (entry.id, entry.actor, entry.action, entry.target, entry.ip) == (
            entry_id, "cli", "unit_added", "xa-a", "10.0.0.9")
    finally:
        c.stop()
