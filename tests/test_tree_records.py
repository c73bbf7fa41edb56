"""The registry answers frozen records, never database rows: a caller cannot change a unit or a
device by accident, and ``to_dict`` keeps the JSON the API has always answered."""

from __future__ import annotations

import dataclasses

import pytest

from controller.db import Database
from controller.devices import Registry, Unit
from controller.errors import NotFound
from support.tree import UNITS, seed_registry


@pytest.fixture
def registry(tmp_path) -> Registry:
    reg = Registry(Database(tmp_path / "controller.db"), low_volume_fault=10)
    seed_registry(reg)
    return reg


def test_units_are_frozen_records_of_their_rows(registry):
    units = registry.units()
    assert all(isinstance(u, Unit) for u in units)
    assert {u.id: (u.name, u.parent_id, u.level) for u in units} == {u.id: (u.name, u.parent_id, u.level) for u in UNITS}
    unit = registry.unit("thon-a")
    assert unit == Unit("thon-a", "Thôn A", "xa-a", "village")
    with pytest.raises(dataclasses.FrozenInstanceError):
        unit.name = "Thôn khác"  # type: ignore[misc]
    assert registry.unit("thon-a").name == "Thôn A"
    with pytest.raises(NotFound):
        registry.unit("no-such-unit")


def test_a_new_unit_is_answered_as_stored_and_keeps_its_json(registry):
    added = registry.add_unit("thon-c", "  Thôn C ", "xa-a", "village")
    assert added == registry.unit("thon-c") == Unit("thon-c", "Thôn C", "xa-a", "village")
    assert added.to_dict() == {"id": "thon-c", "name": "Thôn C", "parent_id": "xa-a", "level": "village"}
    assert registry.add_unit("xa-c", "Xã C").to_dict() == {"id": "xa-c", "name": "Xã C", "parent_id": None, "level": ""}
