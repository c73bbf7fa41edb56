"""The registry answers frozen records, never database rows: a caller cannot change a unit or a
device by accident, and ``to_dict`` keeps the JSON the API has always answered."""

from __future__ import annotations

import dataclasses

import pytest

from controller.db import Database
from controller.devices import Device, Registry, Unit
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


def test_devices_are_frozen_records_with_their_reported_state(registry):
    with registry.db.tx() as db:
        db.execute("UPDATE devices SET online = 1, last_seen = '2026-01-01T00:00:00Z', media_ready = 1, "
                   "plan_version_applied = 3, state_json = ?, lat = 21.5, lon = 105.25 WHERE id = 'loa-a'",
                   ['{"volume": 5, "faults": ["amp"], "playing": "bc-1-0-0"}'])
        db.execute("UPDATE devices SET flapping_since = '2026-01-01T00:00:00Z' WHERE id = 'loa-b'")
    devices = registry.devices()
    assert [d.id for d in devices] == ["loa-a", "loa-b"] and all(isinstance(d, Device) for d in devices)
    a, b = devices
    assert (a.online, a.media_ready, a.plan_version_applied, a.lat, a.lon) == (True, True, 3, 21.5, 105.25)
    assert a.low_volume and a.state["faults"] == ["amp", "low_volume"]  # below low_volume_fault: a fault, not a setting
    assert (b.online, b.last_seen, b.flapping, b.low_volume, b.state) == (False, None, True, False, {})
    assert a.epochs_to_review is None and a.link is None  # only one device's answer carries its epochs
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.online = False  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.unit_id = "thon-b"  # type: ignore[misc]
    one = registry.device("loa-a")
    assert one.epochs_to_review == () and dataclasses.replace(one, epochs_to_review=None) == a
    with pytest.raises(NotFound):
        registry.device("no-such-device")


def test_a_device_keeps_the_json_the_api_answered_for_its_row(registry):
    added = registry.add_device("loa-c", "Cụm loa C", "thon-a")
    assert added == registry.device("loa-c")
    out = added.to_dict()
    assert out == {"id": "loa-c", "name": "Cụm loa C", "unit_id": "thon-a", "created_at": added.created_at,
                   "online": False, "last_seen": None, "plan_version_applied": 0, "media_ready": False,
                   "flapping_since": None, "flapping": False, "state": {}, "low_volume": False, "lat": None,
                   "lon": None, "epochs_to_review": []}
    listed = next(d for d in registry.devices() if d.id == "loa-c").to_dict()
    assert "epochs_to_review" not in listed and "link" not in listed
    linked = dataclasses.replace(added, link="never").to_dict()
    assert linked["link"] == "never"
    linked["state"]["volume"] = 1  # the answer is a copy: changing it changes no record
    assert added.state == {}
