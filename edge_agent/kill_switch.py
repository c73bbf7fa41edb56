"""The device's kill switch: while engaged, only emergency items play; it survives restarts."""

from __future__ import annotations

import logging

from edge_agent.store import AgentStore
from loaxa.protocol import PlayItem

log = logging.getLogger(__name__)

STORE_KEY = "kill_switch"


class KillSwitch:
    def __init__(self, store: AgentStore):
        self.store = store
        self.active = store.get(STORE_KEY, "0") == "1"

    def engage(self, reason: str = "") -> None:
        self.store.set(STORE_KEY, "1")
        self.active = True
        log.warning("kill switch engaged: %s", reason or "no reason given")

    def lift(self) -> None:
        self.store.set(STORE_KEY, "0")
        self.active = False
        log.warning("kill switch lifted")

    def blocked(self, item: PlayItem) -> str | None:
        """The conductor's veto: a reason to skip ``item``, or None to play it."""
        if self.active and item.priority != "emergency":
            return "kill_switch"
        return None
