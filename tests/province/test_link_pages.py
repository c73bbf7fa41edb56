"""The pages say at once that a commune's bridge is down, and to whom that matters (in-process controller)."""

from __future__ import annotations

import pytest

from controller.devices.broker_tree import link_topic
from support.world import make_world


@pytest.fixture
def world(tmp_path):
    w = make_world(tmp_path)
    w.controller.broker_tree.add(w.controller.config, "xa-a", ["xa-a"], "mqtt.xa-a.example", 8883, actor="test")
    yield w
    w.controller.db.close()


def test_a_down_bridge_shows_on_the_dashboard_and_the_emergency_page_for_those_it_cuts_off(world):
    c = world.controller
    assert c.broker_tree.cut_off_devices() == {}
    c._on_message(link_topic("xa-a"), b"1")  # the bridge's notification, as the province broker delivers it
    assert "Mất kết nối với trạm MQTT xã" not in world.call("root", "GET", "/").get_data(as_text=True)

    c._on_message(link_topic("xa-a"), b"0")  # its will: the link broke
    assert c.broker_tree.cut_off_devices() == {"loa-a": "xa-a"}
    for page in ("/", "/emergency"):
        html = world.call("root", "GET", page).get_data(as_text=True)
        assert "Mất kết nối với trạm MQTT xã" in html and 'data-broker="xa-a"' in html and "loa-a" in html, page
    assert "Mất kết nối với trạm MQTT xã" in world.call("approver", "GET", "/emergency").get_data(as_text=True)
    with c.db.tx() as db:
        [(action, target)] = db.execute("SELECT action, target FROM audit_log WHERE action LIKE 'broker_%'").fetchall()
    assert (action, target) == ("broker_commune_added", "xa-a")

    c._on_message(link_topic("xa-a"), b"1")
    assert "Mất kết nối với trạm MQTT xã" not in world.call("root", "GET", "/").get_data(as_text=True)
