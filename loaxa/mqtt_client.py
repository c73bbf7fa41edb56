"""A paho-mqtt 2.x connection that keeps itself up.

Shared by the controller and the agent: ``connect_async`` + ``loop_start`` so a broker
that is down at start is retried forever, subscriptions restored on every connect, an
optional retained last will.  Nothing here knows message schemas.
"""

from __future__ import annotations

import logging
import ssl
import threading
from typing import Callable, Iterable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from loaxa.config import ConfigError, MqttSettings

log = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes], None]


class MqttConnection:
    def __init__(
        self,
        settings: MqttSettings,
        client_id: str,
        on_message: MessageHandler,
        subscriptions: Iterable[tuple[str, int]] = (),
        will: tuple[str, bytes] | None = None,
        on_connect: Callable[[], None] | None = None,
        on_disconnect: Callable[[], None] | None = None,
    ):
        self.settings = settings
        self._handler = on_message
        self._subs: dict[str, int] = dict(subscriptions)
        self._on_connect_cb = on_connect
        self._on_disconnect_cb = on_disconnect
        self._lock = threading.Lock()
        self.connected = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        if settings.username:
            self.client.username_pw_set(settings.username, settings.password or None)
        if settings.tls_ca:
            self.client.tls_set(ca_certs=settings.tls_ca, cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        if will:
            self.client.will_set(will[0], will[1], qos=1, retain=True)
        if settings.reconnect_max_s <= 0:
            raise ConfigError(f"mqtt.reconnect_max_s must be positive, got {settings.reconnect_max_s}")
        self.client.reconnect_delay_set(min_delay=min(1.0, settings.reconnect_max_s), max_delay=settings.reconnect_max_s)
        self.client.max_queued_messages_set(10000)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def start(self) -> None:
        self.client.connect_async(self.settings.host, self.settings.port, keepalive=self.settings.keepalive_s)
        self.client.loop_start()

    def stop(self, final: tuple[str, bytes] | None = None) -> None:
        """Disconnect cleanly, optionally publishing a last retained message first."""
        if final and self.connected.is_set():
            info = self.client.publish(final[0], final[1], qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=2)
            except (RuntimeError, ValueError):
                pass
        self.client.disconnect()
        self.client.loop_stop()
        self.connected.clear()

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> mqtt.MQTTMessageInfo:
        return self.client.publish(topic, payload, qos=qos, retain=retain)

    def subscribe(self, topic: str, qos: int = 1) -> None:
        with self._lock:
            if self._subs.get(topic) == qos:
                return
            self._subs[topic] = qos
        if self.connected.is_set():
            self.client.subscribe(topic, qos)

    def unsubscribe(self, topic: str) -> None:
        with self._lock:
            if self._subs.pop(topic, None) is None:
                return
        if self.connected.is_set():
            self.client.unsubscribe(topic)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("broker %s:%d refused the connection: %s", self.settings.host, self.settings.port, reason_code)
            return
        with self._lock:
            subs = list(self._subs.items())
        if subs:
            client.subscribe(subs)
        self.connected.set()
        log.info("connected to broker %s:%d", self.settings.host, self.settings.port)
        if self._on_connect_cb:
            self._on_connect_cb()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        if was:
            log.warning("lost the broker connection (%s); retrying", reason_code)
        if self._on_disconnect_cb:
            self._on_disconnect_cb()

    def _on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:
        try:
            self._handler(message.topic, message.payload)
        except Exception:
            log.exception("handler failed for a message on %s", message.topic)
