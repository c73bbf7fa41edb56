"""What each commune broker says about its own queues, bridged up from its ``$SYS`` tree.

mosquitto 2.0 keeps no per-bridge queue figure; it publishes broker-wide counters every
``sys_interval``.  Each commune broker's bridge carries three of them up to the province
broker under ``loaxa/v1/bridge/<id>/sys/`` (QoS 0, not queued while the link is down):
``store/messages/count`` (messages held: the retained plans plus what waits for the
bridge and for devices that are away) and ``publish/messages/dropped`` (messages dropped
because a queue limit was reached: events lost before they crossed).  mosquitto 2.0.11
publishes ``retained messages/count`` too, but a bridge topic cannot name it (it holds a
space, and ``+`` does not match it there), so the backlog is not separated from the
retained plans.  The controller keeps the last value of each for ``/metrics``.  While a
link is down its figures are the last ones seen before the cut (the link alarm says
that); the first report after it heals says whether anything was dropped meanwhile.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from loaxa import protocol

SYS_PREFIX = "$SYS/broker/"
SYS_PATTERNS = ("store/messages/count", "publish/messages/dropped")  # below SYS_PREFIX
SYS_WILDCARD = f"{protocol.TOPIC_ROOT}/bridge/+/sys/#"


def sys_topic_prefix(broker_id: str) -> str:
    """Where a commune broker's bridged $SYS figures arrive on the province broker."""
    return f"{protocol.TOPIC_ROOT}/bridge/{broker_id}/sys/"


@dataclass(frozen=True)
class BridgeQueue:
    """The last figures one commune broker reported (None: not reported yet)."""

    broker_id: str
    stored: int | None
    dropped: int | None


_FIELDS = {"store/messages/count": "stored", "publish/messages/dropped": "dropped"}


class BridgeQueues:
    """Last $SYS figures per commune broker, fed from the controller's MQTT messages."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._figures: dict[str, dict[str, int]] = {}

    def on_message(self, topic: str, payload: bytes) -> bool:
        """True if the topic was a bridged $SYS figure (kept when its payload is a number)."""
        root = f"{protocol.TOPIC_ROOT}/bridge/"
        if not topic.startswith(root) or "/sys/" not in topic:
            return False
        broker_id, _, rest = topic[len(root):].partition("/sys/")
        field = _FIELDS.get(rest)
        if field is None or "/" in broker_id:
            return True
        try:
            value = int(payload.strip())
        except ValueError:
            return True
        with self._lock:
            self._figures.setdefault(broker_id, {})[field] = value
        return True

    def all(self) -> list[BridgeQueue]:
        with self._lock:
            return [BridgeQueue(b, f.get("stored"), f.get("dropped"))
                    for b, f in sorted(self._figures.items())]
