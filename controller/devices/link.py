"""Whether the controller can hear its devices at all: the state of its own broker connection.

Device states are what the devices last said over the broker.  While the controller has
lost the broker, those states are stale and must not be shown as "Trực tuyến": every
device then reads ``unknown`` with the time of its last contact, and every page carries
a banner (see :func:`controller.devices.use_cases.broker_link`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from loaxa.wire_time import format_time, utcnow


@dataclass(frozen=True)
class LinkStatus:
    connected: bool
    since: datetime | None  # when it connected, or when it was lost (None: never connected yet)
    ever_connected: bool

    def to_dict(self) -> dict[str, object]:
        return {"connected": self.connected, "since": format_time(self.since) if self.since else None,
                "ever_connected": self.ever_connected}


class BrokerLink:
    """Fed by the MQTT connection's callbacks; read by every page."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status = LinkStatus(False, None, False)

    def up(self) -> None:
        with self._lock:
            self._status = LinkStatus(True, utcnow(), True)

    def down(self) -> None:
        with self._lock:
            if self._status.connected or self._status.since is None:
                self._status = LinkStatus(False, utcnow(), self._status.ever_connected)

    def status(self) -> LinkStatus:
        with self._lock:
            return self._status
