"""The security, fleet, notifications and devices packages answer frozen records, never dictionaries:
a caller cannot change an answer by accident, a misspelt field fails where it is read, and
``to_dict`` is the JSON the API has always answered (the sibling of ``test_use_case_records``)."""

from __future__ import annotations

import pytest

from controller import security
from controller.people.actor import Actor
from loaxa import protocol
from support.world import World, make_world
from test_use_case_records import actor, assert_frozen  # noqa: F401 - one definition of both helpers


@pytest.fixture
def world(tmp_path) -> World:
    w = make_world(tmp_path)
    yield w
    w.controller.stop()


def test_the_kill_switches_and_enrollment_answer_frozen_records(world):
    c = world.controller
    switches = c.security.kill_switches
    engaged = switches.engage("xa-a", actor(world, "root"), "thử")
    assert isinstance(engaged, security.KillSwitchEngaged) and engaged.devices == ("loa-a",)
    assert set(engaged.to_dict()) == {"unit_id", "engaged_at", "engaged_by", "reason", "devices"}
    assert_frozen(engaged, "reason")
    switches.engage("thon-a", actor(world, "admin-a"), "thôn")
    [thon, xa] = switches.engaged()
    assert isinstance(thon, security.KillSwitch) and (thon.unit_id, thon.engaged_by) == ("thon-a", "admin-a")
    assert_frozen(thon, "reason")
    # a person of thon-a sees the switch of xa-a above them without who engaged it or why
    scope = c.users.scope(c.users.add("editor-thon", "mat-khau-thu-nghiem", "editor", "thon-a"))
    seen = {k.unit_id: k for k in switches.engaged_for(scope)}
    assert seen["xa-a"].to_dict() == {"unit_id": "xa-a", "engaged_at": xa.engaged_at, "engaged_by": "", "reason": ""}
    assert seen["thon-a"] == thon
    lifted = switches.lift("thon-a", actor(world, "admin-a"))
    assert isinstance(lifted, security.KillSwitchLifted) and lifted.lifted and lifted.devices == ()  # xa-a still holds it
    assert lifted.to_dict() == {"unit_id": "thon-a", "lifted": True, "devices": []}
    assert_frozen(lifted, "devices")

    _device, code, _expires = c.security.add_device("thon-a", "Loa C", "loa-c", Actor.system("root"))
    key = protocol.public_key_to_text(protocol.Signer.generate().public_key)
    bundle = c.security.enroll(code, "127.0.0.1", key)
    assert isinstance(bundle, security.EnrollmentBundle) and isinstance(bundle.mqtt, security.BrokerGrant)
    assert bundle.device_id == "loa-c" and bundle.mqtt.username == "dev-loa-c"
    assert bundle.to_dict()["mqtt"] == {"host": bundle.mqtt.host, "port": bundle.mqtt.port, "username": "dev-loa-c",
                                        "password": bundle.mqtt.password, "tls": bundle.mqtt.tls}
    assert_frozen(bundle, "mqtt")
    assert_frozen(bundle.mqtt, "password")
