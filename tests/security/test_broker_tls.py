"""TLS with the generated CA and certificate, against a real mosquitto TLS listener."""

from __future__ import annotations

import socket
import ssl

import pytest

from controller.people.actor import Actor
from controller.security.certs import create_ca
from controller.service import Controller
from edge_agent.enroll import Grant
from support.harness import wait_for
from loaxa import protocol
from loaxa.config import MqttSettings
from loaxa.mqtt_client import MqttConnection
from support.secure_rig import Client


def test_enrolled_device_reaches_the_broker_over_verified_tls_only(secure_tls, tmp_path):
    rig = secure_tls
    rig.generate()
    out = rig.cli("broker", "certs", "--host", "broker.xa.example")
    assert "localhost" in out.stdout and "broker.xa.example" in out.stdout
    rig.generate()  # the TLS listener goes into mosquitto.conf once the certificate exists
    assert f"listener {rig.tls_port} 127.0.0.1" in rig.files.conf.read_text()
    rig.start_broker()

    controller = Controller(rig.config)
    try:
        controller.registry.add_unit("thon-a", "Thôn A")
        _device, code, _expires = controller.security.add_device("thon-a", "Loa A", "loa-a", Actor.system("test"))
        device_key = protocol.public_key_to_text(protocol.Signer.generate().public_key)
        grant = Grant.from_response(controller.security.enroll(code, "127.0.0.1", device_key).to_dict())
    finally:
        controller.stop()
    assert (grant.host, grant.port, grant.tls) == ("localhost", rig.tls_port, True)
    ca = tmp_path / "ca.pem"
    ca.write_text(grant.tls_ca_pem)

    settings = MqttSettings(host=grant.host, port=grant.port, username=grant.username, password=grant.password,
                            tls_ca=str(ca))
    received: list[bytes] = []
    agent_side = MqttConnection(settings, client_id="loa-a", on_message=lambda t, p: received.append(p),
                                subscriptions=[(protocol.plan_topic("loa-a"), 1)])
    agent_side.start()
    try:
        wait_for(agent_side.connected.is_set, timeout=20, what="TLS connection with the enrolled credentials")
        controller_side = Client(rig.port, *rig.controller_account(), client_id="ctl")
        controller_side.publish(protocol.plan_topic("loa-a"), b"over tls", retain=True)
        wait_for(lambda: received == [b"over tls"], what="message delivered over TLS")
        controller_side.close()
    finally:
        agent_side.stop()

    other_ca, _ = create_ca(tmp_path / "other-ca")
    with pytest.raises(ssl.SSLError):
        Client(rig.tls_port, grant.username, grant.password, client_id="mitm", host="localhost",
               tls_ca=tmp_path / "other-ca" / "ca.crt")
    context = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection(("127.0.0.1", rig.tls_port), timeout=10) as raw:
        with pytest.raises(ssl.SSLCertVerificationError, match="match"):  # a name the certificate does not carry
            context.wrap_socket(raw, server_hostname="elsewhere.example")
