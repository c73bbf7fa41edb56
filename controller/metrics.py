"""Prometheus metrics of one controller (served at ``/metrics``).

State-like figures (devices online, plans not yet applied, events stored) are read from
the database at scrape time, so they are right even after a restart; durations are
observed where the work happens, through :data:`ControllerMetrics.render_seconds` and
:data:`ControllerMetrics.plan_publish_seconds`.
"""

from __future__ import annotations

from typing import Iterator, Protocol

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from controller.db import Database
from controller.devices.bridge_queues import BridgeQueues
from controller.devices.flapping import FlapWatch
from controller.devices.ingest import Ingest
from controller.devices.media_access import MediaAccess
from loaxa.mqtt_client import MqttConnection


class Observed(Protocol):
    """What the metrics read from a running controller; the service is one (and metrics need not import it)."""

    db: Database
    ingest: Ingest
    flaps: FlapWatch
    media_access: MediaAccess
    mqtt: MqttConnection
    bridge_queues: BridgeQueues


class _StateCollector(Collector):
    def __init__(self, controller: Observed):
        self.controller = controller

    def collect(self) -> Iterator:
        c = self.controller
        with c.db.tx() as db:
            online, offline = db.execute(
                "SELECT COALESCE(SUM(online), 0), COALESCE(SUM(1 - online), 0) FROM devices").fetchone()
            pending = db.execute(
                """SELECT COUNT(*) FROM devices d JOIN device_plans p ON p.device_id = d.id
                   WHERE d.plan_version_applied < p.plan_version""").fetchone()[0]
            events = db.execute("SELECT COALESCE(MAX(id), 0) FROM playback_events").fetchone()[0]
        g = GaugeMetricFamily("loaxa_devices", "Registered speaker clusters by connection state", labels=["state"])
        g.add_metric(["online"], online)
        g.add_metric(["offline"], offline)
        yield g
        yield GaugeMetricFamily("loaxa_plans_pending", "Devices that have not yet applied their latest plan",
                                value=pending)
        yield CounterMetricFamily("loaxa_playback_events_stored", "Playback events stored in the audit log",
                                  value=events)
        yield CounterMetricFamily("loaxa_mqtt_messages_rejected", "Malformed or unauthorised device messages dropped",
                                  value=c.ingest.rejected)
        yield CounterMetricFamily("loaxa_playback_events_refused", "Signed playback events refused as implausible "
                                  "(never sent to the device, impossible times, longer than the media)",
                                  value=c.ingest.refused_events)
        yield CounterMetricFamily("loaxa_device_flapping_alerts", "Times a device was flagged for reconnecting too often",
                                  value=c.flaps.alerts)
        yield GaugeMetricFamily("loaxa_devices_flapping", "Devices flagged as flapping now", value=c.flaps.flapping())
        yield CounterMetricFamily("loaxa_media_downloads_denied",
                                  "Media downloads refused because nothing sent to the device uses the file",
                                  value=c.media_access.denied)
        yield GaugeMetricFamily("loaxa_broker_connected", "1 when the controller is connected to the MQTT broker",
                                value=1 if c.mqtt.connected.is_set() else 0)
        yield from _bridge_families(c.bridge_queues)


def _bridge_families(queues: BridgeQueues) -> Iterator:
    """Each commune broker's queue figures as it last reported them over its bridge (none on a single broker)."""
    stored = GaugeMetricFamily("loaxa_bridge_messages_stored", "Messages a commune broker holds: retained plans and "
                               "what waits for the province link or for devices that are away, as last reported over "
                               "its bridge", labels=["broker"])
    dropped = CounterMetricFamily("loaxa_bridge_messages_dropped", "Messages a commune broker dropped because a queue "
                                  "limit was reached, since it started", labels=["broker"])
    for q in queues.all():
        if q.stored is not None:
            stored.add_metric([q.broker_id], q.stored)
        if q.dropped is not None:
            dropped.add_metric([q.broker_id], q.dropped)
    yield from (stored, dropped)


class ControllerMetrics:
    def __init__(self, controller: Observed):
        self.registry = CollectorRegistry()
        self.registry.register(_StateCollector(controller))
        self.render_seconds = Histogram("loaxa_render_seconds", "Time to render a bulletin to delivery media",
                                        buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300), registry=self.registry)
        self.plan_publish_seconds = Histogram("loaxa_plan_publish_seconds",
                                              "Time to rebuild, sign and publish plans after a change",
                                              buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1, 3, 10), registry=self.registry)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
