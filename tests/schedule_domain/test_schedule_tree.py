"""The administrative tree: lookups, targets, group chains, and refusal of malformed trees."""

from __future__ import annotations

import pytest

from schedules.errors import ScheduleInputError
from schedules.tree import AdminTree, Device, Unit


def test_a_unit_target_reaches_every_device_below_it(tree):
    assert tree.devices_under(["hn"]) == {"hn-d1", "hn-d2", "hn-d3"}
    assert tree.devices_under(["hn-to-1"]) == {"hn-d1"}
    assert tree.devices_under(["hn-to-1", "tq-d2", "hn-d1"]) == {"hn-d1", "tq-d2"}
    assert tree.devices_under([]) == frozenset()


def test_unknown_targets_are_refused_by_name(tree):
    with pytest.raises(ScheduleInputError, match="xa-ma") as err:
        tree.devices_under(["hn", "xa-ma"])
    assert err.value.code == "unknown_node"


def test_ancestors_nearest_first_and_group_chain_of_a_device(tree):
    assert tree.ancestors("tq-thon") == ("tq-xa", "tq-huyen", "tq")
    assert tree.ancestors("tq") == ()
    assert tree.group_chain("tq-d1") == ("tq-thon", "tq-xa", "tq-huyen", "tq")
    assert tree.group_chain("hn-d3") == ("hn-phuong-a", "hn")


def test_subtree_children_contains_and_roots(tree):
    assert tree.subtree("hn-phuong-a") == {"hn-phuong-a", "hn-to-1", "hn-to-2"}
    assert set(tree.children("hn-phuong-a")) == {"hn-to-1", "hn-to-2"}
    assert set(tree.roots()) == {"hn", "tq"}
    assert tree.contains("hn", "hn-d1")
    assert tree.contains("hn-to-1", "hn-to-1")
    assert not tree.contains("hn-to-1", "hn-d2")
    assert not tree.contains("hn-d1", "hn")
    assert "hn-d1" in tree and "nowhere" not in tree
    assert tree.name("tq-d2") == "Cụm loa chợ"


def test_minimal_targets_drop_what_an_ancestor_already_covers(tree):
    assert tree.minimal_targets(["hn", "hn-to-1", "hn-d2", "tq-d1"]) == {"hn", "tq-d1"}


def test_a_province_without_districts_is_just_a_shorter_chain():
    t = AdminTree([Unit("p", "Tỉnh", None, "tinh"), Unit("x", "Xã", "p", "xa")], [Device("d", "x")])
    assert t.group_chain("d") == ("x", "p")
    assert t.devices_under(["p"]) == {"d"}


@pytest.mark.parametrize(
    "units, devices, code",
    [
        ([Unit("a", "A"), Unit("a", "A2")], [], "duplicate_id"),
        ([Unit("a", "A")], [Device("a", "a")], "duplicate_id"),
        ([Unit("a", "A")], [Device("d", "a"), Device("d", "a")], "duplicate_id"),
        ([Unit("a", "A", "ghost")], [], "unknown_parent"),
        ([Unit("a", "A")], [Device("d", "ghost")], "unknown_parent"),
        ([Unit("a", "A", "a")], [], "cycle"),
        ([Unit("a", "A", "b"), Unit("b", "B", "a")], [], "cycle"),
        ([Unit("r", "R"), Unit("a", "A", "b"), Unit("b", "B", "c"), Unit("c", "C", "b")], [], "cycle"),
        ([Unit("bad id", "A")], [], "invalid_id"),
        ([Unit("a" * 65, "A")], [], "invalid_id"),
    ],
)
def test_malformed_trees_are_refused(units, devices, code):
    with pytest.raises(ScheduleInputError) as err:
        AdminTree(units, devices)
    assert err.value.code == code


def test_a_long_chain_is_resolved_without_recursion():
    units = [Unit("u0", "U0")] + [Unit(f"u{i}", f"U{i}", f"u{i - 1}") for i in range(1, 3000)]
    t = AdminTree(units, [Device("d", "u2999")])
    assert len(t.group_chain("d")) == 3000
    assert t.devices_under(["u0"]) == {"d"}
