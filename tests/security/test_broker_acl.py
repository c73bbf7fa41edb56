"""The generated mosquitto configuration, run by a real mosquitto: who may read and write what.

mosquitto silently drops a refused publish or subscribe, so each "cannot" is observed as
nothing arriving before a later message that is allowed and must come after it.
"""

from __future__ import annotations

import pytest

from controller.devices.credentials import Credentials
from controller.devices.registry import Registry
from support.harness import wait_for
from loaxa import protocol
from support.secure_rig import Client, SecureRig


@pytest.fixture
def rig(secure: SecureRig):
    db = secure.db()
    reg = Registry(db)
    reg.add_unit("xa", "Xã Thử")
    reg.add_unit("thon-a", "Thôn A", "xa")
    reg.add_unit("thon-b", "Thôn B", "xa")
    reg.add_device("loa-a", "Loa A", "thon-a")
    reg.add_device("loa-b", "Loa B", "thon-b")
    creds = Credentials(db)
    secure.accounts = {d: creds.issue_device(d) for d in ("loa-a", "loa-b")}
    db.close()
    secure.generate()
    secure.start_broker()
    clients: list[Client] = []

    def client(who: str) -> Client:
        user, password = secure.controller_account() if who == "controller" else secure.accounts[who]
        c = Client(secure.port, user, password, client_id=f"test-{who}")
        assert c.accepted, f"{who} refused: {c.connack}"
        clients.append(c)
        return c

    secure.client = client
    yield secure
    for c in clients:
        c.close()


def test_anonymous_and_wrong_passwords_are_refused(rig):
    anonymous = Client(rig.port, client_id="anon")
    wrong = Client(rig.port, "dev-loa-a", "not-the-password", client_id="wrong")
    unknown = Client(rig.port, "admin", "admin", client_id="admin")
    for c in (anonymous, wrong, unknown):
        assert not c.accepted and c.connack is not None
        c.close()


def test_a_device_reads_only_its_own_topics_and_the_groups_above_it(rig):
    ctl, a, b = rig.client("controller"), rig.client("loa-a"), rig.client("loa-b")
    ctl.publish(protocol.plan_topic("loa-b"), b"plan for b", retain=True)
    ctl.publish(protocol.plan_topic("loa-a"), b"plan for a", retain=True)
    b.subscribe(protocol.plan_topic("loa-b"))
    wait_for(lambda: b.on(protocol.plan_topic("loa-b")), what="b reads its own plan")

    a.subscribe(protocol.plan_topic("loa-b"), "loaxa/v1/#", protocol.group_cmd_topic("thon-b"),
                protocol.plan_topic("loa-a"), protocol.group_cmd_topic("xa"))
    wait_for(lambda: a.on(protocol.plan_topic("loa-a")), what="a reads its own retained plan")
    ctl.publish(protocol.group_cmd_topic("thon-b"), b"b's village")
    ctl.publish(protocol.state_topic("loa-b"), b"spoofed by the controller account")  # not the controller's to write
    ctl.publish(protocol.group_cmd_topic("xa"), b"whole commune")
    wait_for(lambda: a.on(protocol.group_cmd_topic("xa")), what="a reads its commune's group commands")
    topics = {t for t, _ in a.messages}
    assert topics == {protocol.plan_topic("loa-a"), protocol.group_cmd_topic("xa")}


def test_a_device_cannot_publish_plans_commands_or_as_another_device(rig):
    ctl, a = rig.client("controller"), rig.client("loa-a")
    ctl.subscribe(protocol.STATE_WILDCARD, protocol.EVENTS_WILDCARD)
    a.subscribe(protocol.plan_topic("loa-a"), protocol.cmd_topic("loa-a"), protocol.group_cmd_topic("xa"),
                protocol.keys_topic())
    for topic in (protocol.events_topic("loa-b"), protocol.state_topic("loa-b"), protocol.plan_topic("loa-a"),
                  protocol.cmd_topic("loa-a"), protocol.group_cmd_topic("xa"), protocol.keys_topic(),
                  protocol.plan_topic("loa-b")):
        a.publish(topic, b"forged by a")
    ctl.publish(protocol.cmd_topic("loa-a"), b"barrier")  # after a's PUBACKs, so after any routing of a's messages
    a.publish(protocol.events_topic("loa-a"), b"a's own events")
    wait_for(lambda: a.on(protocol.cmd_topic("loa-a")), what="barrier command reaches a")
    wait_for(lambda: ctl.on(protocol.events_topic("loa-a")), what="a's own events reach the controller")
    assert a.messages == [(protocol.cmd_topic("loa-a"), b"barrier")]
    assert [t for t, _ in ctl.messages] == [protocol.events_topic("loa-a")]


def test_a_revoked_device_is_cut_off_after_the_broker_reloads(rig):
    a = rig.client("loa-a")
    out = rig.cli("device", "revoke", "loa-a")
    assert "credentials removed" in out.stdout and "not reloaded" not in out.stdout
    assert "dev-loa-a" not in rig.files.passwd.read_text() and "loa-a" not in rig.files.acl.read_text()
    wait_for(lambda: getattr(a, "disconnected", False), what="the broker drops the revoked device's connection")
    again = Client(rig.port, *rig.accounts["loa-a"], client_id="test-loa-a-again")
    assert not again.accepted
    again.close()
    assert rig.client("loa-b").accepted
    listing = rig.cli("device", "list").stdout
    assert any(line.split()[:3] == ["loa-a", "thon-a", "revoked"] for line in listing.splitlines())
    assert any(line.split()[:3] == ["loa-b", "thon-b", "enrolled"] for line in listing.splitlines())
