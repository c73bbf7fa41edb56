"""The generated mosquitto.conf, run by a real mosquitto: client ids belong to accounts, devices use TLS.

A pole's credentials used to connect under another pole's client id, or the controller's,
made mosquitto drop the victim; a loop of that kept a pole offline through an emergency.
Out of the box the config was plaintext on every interface.
"""

from __future__ import annotations

import urllib.request

import pytest

from controller.config import ControllerConfig
from controller.devices.credentials import Credentials
from controller.devtools.broker_runner import free_port
from controller.devices.registry import Registry
from controller.security import broker_config
from loaxa import protocol
from loaxa.config import load_config
from loaxa.protocol import DeviceState
from support.harness import wait_for
from support.secure_rig import Client, SecureRig


def _two_poles(rig: SecureRig) -> dict[str, tuple[str, str]]:
    db = rig.db()
    try:
        reg = Registry(db)
        reg.add_unit("xa", "Xã Thử")
        reg.add_unit("thon-a", "Thôn A", "xa")
        reg.add_device("loa-a", "Loa A", "thon-a")
        reg.add_device("loa-b", "Loa B", "thon-a")
        creds = Credentials(db)
        return {d: creds.issue_device(d) for d in ("loa-a", "loa-b")}
    finally:
        db.close()


def _still_connected(sender: Client, receiver: Client, topic: str, payload: bytes) -> None:
    """``receiver`` still holds its session: a message published now reaches it."""
    sender.publish(topic, payload)
    wait_for(lambda: payload in receiver.on(topic), timeout=10, what=f"{payload!r} still delivered")
    assert not getattr(receiver, "disconnected", False)


def test_one_poles_account_cannot_take_over_another_poles_or_the_controllers_client_id(secure: SecureRig):
    accounts = _two_poles(secure)
    secure.generate()
    assert "use_username_as_clientid true" in secure.files.conf.read_text()
    secure.start_generated_broker()
    ctl_user, ctl_password = secure.controller_account()
    # Victims connect under the client ids the product uses: their own user names.
    controller = Client(secure.port, ctl_user, ctl_password, client_id=protocol.client_id(ctl_user, "x"))
    victim = Client(secure.port, *accounts["loa-b"], client_id=protocol.client_id(accounts["loa-b"][0], "x"))
    assert controller.accepted and victim.accepted
    victim.subscribe(protocol.plan_topic("loa-b"))
    controller.client.on_disconnect = lambda *a: setattr(controller, "disconnected", True)

    intruders = [Client(secure.port, *accounts["loa-a"], client_id=cid)
                 for cid in (accounts["loa-b"][0], f"loaxa-agent-loa-b", ctl_user, "loaxa-controller")]
    for i, intruder in enumerate(intruders):
        _still_connected(controller, victim, protocol.plan_topic("loa-b"), f"plan {i}".encode())
    assert not getattr(controller, "disconnected", False), "the controller was knocked off"

    # The operator CLI has its own account: a command no longer shares (and so kicks) the controller's.
    op_user, op_password = broker_config.operator_account(secure.config)
    assert op_user != ctl_user and f"user {op_user}" in secure.files.acl.read_text()
    operator = Client(secure.port, op_user, op_password, client_id=ctl_user)
    assert operator.accepted
    _still_connected(operator, victim, protocol.plan_topic("loa-b"), b"from the operator")
    assert not getattr(controller, "disconnected", False)
    for c in (*intruders, operator, victim, controller):
        c.close()


def test_a_flapping_pole_is_flagged_audited_and_counted(tmp_path):
    rig = SecureRig(tmp_path, security="flap_reconnects = 4\nflap_window_s = 300\n")
    try:
        accounts = _two_poles(rig)
        rig.generate()
        rig.start_generated_broker()
        ctl = rig.controller()
        user, password = accounts["loa-a"]
        pole = Client(rig.port, user, password, client_id=user)
        for n in range(4):  # what the controller sees of a pole knocked off and back, again and again
            pole.publish(protocol.state_topic("loa-a"), protocol.encode(DeviceState(device_id="loa-a", online=True)))
            pole.publish(protocol.state_topic("loa-a"), protocol.encode(DeviceState(device_id="loa-a", online=False)))
        device = wait_for(lambda: (d := ctl.api.get("/api/devices/loa-a"))["flapping"] and d, timeout=20,
                          what="the pole flagged as flapping")
        assert device["flapping_since"]
        assert not ctl.api.get("/api/devices/loa-b")["flapping"]
        with ctl.db() as conn:
            audited = conn.execute("SELECT target, details FROM audit_log WHERE action = 'device_flapping'").fetchall()
        assert [r[0] for r in audited] == ["loa-a"]
        metrics = urllib.request.urlopen(f"{ctl.url}/metrics", timeout=10).read().decode()
        assert "loaxa_device_flapping_alerts_total 1.0" in metrics and "loaxa_devices_flapping 1.0" in metrics
        pole.close()
    finally:
        rig.close()


@pytest.fixture
def quick_emergencies(tmp_path):
    rig = SecureRig(tmp_path, plans="command_ttl_s = 18\nemergency_resend_s = 1\n")  # loa-2 returns within seconds
    yield rig
    rig.close()


def test_an_emergency_is_sent_again_until_each_pole_started_it_and_the_rest_are_reported(quick_emergencies):
    rig = quick_emergencies
    ctl, first, _code = rig.commune_with_pole("loa-1")
    late = rig.agent("loa-2", rig.add_device("loa-2", "thon-a"))
    rig.add_device("loa-3", "thon-a")  # never enrolled: it can never answer
    for d in ("loa-1", "loa-2"):
        wait_for(lambda: ctl.api.get(f"/api/devices/{d}")["online"], timeout=30, what=f"{d} online")
    late.stop()  # knocked off (rebooting, or a flapping link) when the emergency goes out
    wait_for(lambda: not ctl.api.get("/api/devices/loa-2")["online"], timeout=20, what="loa-2 offline")

    em = ctl.api.post("/api/emergency", {"targets": ["xa"], "text": "Lũ về, sơ tán ngay.", "reason": "lũ"})
    assert em["topics"] == ["grp/xa"]
    wait_for(lambda: first.plays(), timeout=30, what="loa-1 plays the emergency")
    late.start()  # back within the command's lifetime: the group publish is long gone

    def delivery() -> dict[str, str]:
        [e] = [e for e in ctl.api.get("/api/emergencies") if e["broadcast_id"] == em["broadcast_id"]]
        return {d["device_id"]: d["status"] for d in e["delivery"]}

    wait_for(lambda: late.plays(), timeout=40, what="loa-2 plays the emergency sent again to it")
    final = wait_for(lambda: (s := delivery())["loa-3"] != "pending" and s, timeout=60,
                     what="the emergency's lifetime ends")
    assert final == {"loa-1": "confirmed", "loa-2": "confirmed", "loa-3": "unreached"}
    [e] = [e for e in ctl.api.get("/api/emergencies") if e["broadcast_id"] == em["broadcast_id"]]
    assert e["unreached"] == ["loa-3"]
    assert {d["device_id"]: d["sends"] > 1 for d in e["delivery"]}["loa-2"]
    assert [p["item_id"] for p in late.plays()] == [em["broadcast_id"]]  # once, however often it was sent
    with ctl.db() as conn:
        row = conn.execute("SELECT details FROM audit_log WHERE action = 'emergency_unreached'").fetchone()
        notice = conn.execute("SELECT title, link FROM notifications WHERE kind = 'emergency_unreached'").fetchone()
    assert row is not None and "loa-3" in row[0]
    assert tuple(notice) == ("Phát khẩn cấp không tới 1 cụm loa", "/emergency"), "the people concerned are told"


def _installed_config(tmp_path, extra_broker: str = "", http: str = "") -> tuple[SecureRig, str]:
    """A controller config as 'loaxa install controller' writes it (defaults), with test ports and pid file only."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    rig = SecureRig(tmp_path)
    plain, tls = rig.port, free_port()
    rig.config_path.write_text(
        f'data_dir = "{rig.data_dir}"\n\n[mqtt]\nport = {plain}\n\n[http]\nport = {rig.http_port}\n{http}\n'
        f'[broker]\nport = {plain}\ntls_port = {tls}\npid_file = "{rig.pid_file}"\n{extra_broker}')
    rig.config = load_config(ControllerConfig, rig.config_path, env={})
    rig.files = broker_config.BrokerFiles(broker_config.broker_dir(rig.config))
    rig.tls_port = tls
    return rig, str(tls)


def test_the_out_of_the_box_broker_config_listens_for_devices_over_tls_only(tmp_path):
    defaults = ControllerConfig().broker
    assert (defaults.tls_port, defaults.plain_bind_address, defaults.allow_plaintext) == (8883, "127.0.0.1", False)
    rig, tls = _installed_config(tmp_path)
    try:
        accounts = _two_poles(rig)
        out = rig.cli("broker", "config")
        assert "TLS on port" in out.stdout and "WARNING" not in out.stderr
        conf = rig.files.conf.read_text()
        assert f"listener {rig.port} 127.0.0.1" in conf  # the plain listener: this machine only
        assert f"listener {tls}\n" in conf and f"certfile {rig.files.server_cert}" in conf  # devices: TLS, everywhere
        rig.start_generated_broker()
        pole = Client(rig.tls_port, *accounts["loa-a"], client_id="dev-loa-a",
                      tls_ca=rig.files.ca_cert)
        assert pole.accepted, pole.connack
        plain = Client(rig.tls_port, *accounts["loa-b"], client_id="dev-loa-b")  # no plaintext on the device port
        assert not plain.accepted
        plain.close()
        pole.close()
    finally:
        rig.close()


def test_plaintext_beyond_loopback_is_refused_unless_allowed_and_then_warned(tmp_path):
    rig, _ = _installed_config(tmp_path / "a", 'plain_bind_address = "0.0.0.0"\n')
    refused = rig.cli("broker", "config", check=False)
    assert refused.returncode != 0 and "refusing plaintext" in refused.stderr and "allow_plaintext" in refused.stderr
    assert not rig.files.conf.exists()

    rig, _ = _installed_config(tmp_path / "b", 'plain_bind_address = "0.0.0.0"\nallow_plaintext = true\n')
    allowed = rig.cli("broker", "config")
    assert "WARNING: plaintext: the plain MQTT listener" in allowed.stderr

    rig, _ = _installed_config(tmp_path / "c", http='public_url = "http://10.0.0.5:8080"\n')
    refused = rig.cli("device", "add", "--unit", "xa", "--name", "Loa", check=False)
    assert refused.returncode != 0 and "http.public_url http://10.0.0.5:8080" in refused.stderr
