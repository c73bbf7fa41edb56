"""Operator commands on the controller machine act on the controller's own files.

Reading the data directory (the database and the signing key) is the authority here: it
already allows signing anything.  Commands that must reach devices at once (the kill
switch, a key rollover) publish with the operator's own broker account (never the
controller's: the broker binds client ids to accounts, so sharing it would knock the
controller off), and wait until the broker confirmed every message.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Iterator

import paho.mqtt.client as mqtt

from controller.config import ControllerConfig
from controller.db import Database
from controller.security.device_security import DeviceSecurity, operator_mqtt_settings
from controller.plans.dispatch import Dispatcher
from controller.security.keyring import Keyring
from controller.devices.registry import Registry
from loaxa import protocol
from loaxa.mqtt_client import MqttConnection

CONNECT_TIMEOUT_S = 15.0
CONFIRM_TIMEOUT_S = 10.0


class OperatorError(RuntimeError):
    pass


class ConfirmingPublisher:
    """Publishes through a connection and can wait until the broker acknowledged everything."""

    def __init__(self, connection: MqttConnection):
        self.connection = connection
        self._pending: list[mqtt.MQTTMessageInfo] = []
        self._lock = threading.Lock()

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> mqtt.MQTTMessageInfo:
        info = self.connection.publish(topic, payload, qos=qos, retain=retain)
        with self._lock:
            self._pending.append(info)
        return info

    def publish_and_wait(self, topic: str, payload: bytes) -> None:
        info = self.publish(topic, payload, qos=1, retain=True)
        info.wait_for_publish(timeout=CONFIRM_TIMEOUT_S)
        if not info.is_published():
            raise OperatorError(f"the broker did not confirm the message on {topic}")

    def confirm_all(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for info in pending:
            info.wait_for_publish(timeout=CONFIRM_TIMEOUT_S)
            if not info.is_published():
                raise OperatorError("the broker did not confirm every message; check that it runs")


@contextmanager
def operator_session(config: ControllerConfig, *, connect: bool = False) -> Iterator[DeviceSecurity]:
    """The security use cases over the controller's files; ``connect`` also opens MQTT."""
    db = Database(config.db_path)
    settings = operator_mqtt_settings(config)
    connection = MqttConnection(settings, client_id=protocol.client_id(settings.username, f"loaxa-cli-{os.getpid()}"),
                                on_message=lambda topic, payload: None)
    publisher = ConfirmingPublisher(connection)
    registry = Registry(db)
    keyring = Keyring(config.key_path)
    dispatcher = Dispatcher(db, registry, keyring, publisher, config.plans)
    security = DeviceSecurity(config, db, registry, dispatcher, keyring, publisher.publish_and_wait)
    try:
        if connect:
            connection.start()
            if not connection.connected.wait(CONNECT_TIMEOUT_S):
                raise OperatorError(f"cannot connect to the broker at {config.mqtt.host}:{config.mqtt.port} "
                                    f"as the operator's account; is it running and configured?")
        yield security
        if connect:
            publisher.confirm_all()
    finally:
        if connect:
            connection.stop()
        db.close()
