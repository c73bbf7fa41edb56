"""The planner's administrative tree is kept between calls and rebuilt exactly when units or devices change."""

from __future__ import annotations

import pytest

from controller.plans.planner import load_tree
from loaxa.protocol import DeviceState
from support.world import make_controller


@pytest.fixture
def c(tmp_path):
    c = make_controller(tmp_path)
    c.registry.add_unit("xa", "Xã Thử", None, "commune")
    c.registry.add_unit("thon-1", "Thôn 1", "xa", "village")
    c.registry.add_device("loa-1", "Cụm 1", "thon-1")
    yield c
    c.stop()


def test_the_tree_is_kept_until_units_or_devices_change(c):
    first = load_tree(c.db)
    assert load_tree(c.db) is first
    c.ingest.on_state("loa-1", DeviceState(device_id="loa-1", online=True))  # a heartbeat is not a tree change
    assert load_tree(c.db) is first
    c.registry.add_device("loa-2", "Cụm 2", "thon-1")
    second = load_tree(c.db)
    assert second is not first and second.is_device("loa-2")
    with c.db.tx() as db:
        db.execute("UPDATE devices SET name = 'Cụm hai' WHERE id = 'loa-2'")
    assert load_tree(c.db).name("loa-2") == "Cụm hai"
    with c.db.tx() as db:
        db.execute("UPDATE units SET parent_id = NULL WHERE id = 'thon-1'")
    assert load_tree(c.db).ancestors("loa-1") == ("thon-1",)


def test_a_tree_read_inside_a_rolled_back_change_is_not_kept(c):
    before = load_tree(c.db)
    with pytest.raises(RuntimeError):
        with c.db.tx() as db:
            db.execute("INSERT INTO devices(id, name, unit_id, created_at) VALUES ('loa-x', 'X', 'thon-1', '2026-01-01')")
            assert load_tree(c.db).is_device("loa-x")  # the caller sees its own change
            raise RuntimeError("rolled back")
    after = load_tree(c.db)
    assert not after.is_device("loa-x") and after.is_device("loa-1")
    assert load_tree(c.db) is before
