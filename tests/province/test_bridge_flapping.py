"""A bridge that keeps reconnecting (flapping), with real agents on the generated configs.

The commune ``xa-a``'s link is cut for half of ``LOAXA_FLAP_PERIOD_S``, healed until the bridge
has reconnected and for half a period more, again and again for ``LOAXA_FLAP_S`` seconds (15 s by
default, three flaps at least; ``make soak`` runs the field figure of 2 minutes) while a
programme of three items plays: nothing is lost or stored twice.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

from loaxa.wire_time import utcnow
from support.harness import wait_for
from support.tree_rig import assert_every_event_once, broadcast, bulletin, planned, stored

FLAP_S = float(os.environ.get("LOAXA_FLAP_S", "15"))
FLAP_PERIOD_S = float(os.environ.get("LOAXA_FLAP_PERIOD_S", "3"))


def test_a_flapping_bridge_loses_and_duplicates_nothing(province):
    rig, ctl, agents = province
    a = agents["loa-a"]
    bulletins = [bulletin(ctl, text) for text in ("Thông báo họp dân.", "Thông báo lịch cắt điện.", "Thông báo tiêm phòng.")]
    start = utcnow() + timedelta(seconds=8)
    programme = [broadcast(ctl, b, start + timedelta(seconds=i * FLAP_S / 3), "loa-a") for i, b in enumerate(bulletins)]
    wait_for(lambda: all(planned(a, bc) for bc in programme), timeout=30, what="the programme in loa-a's plan")
    proxy = rig.proxies["xa-a"]
    began = time.monotonic()
    flaps = 0
    while time.monotonic() - began < FLAP_S or flaps < 3:
        # Each flap: the link drops, comes back, and the bridge really reconnects before the next drop
        # (its retries back off, so a fixed timetable could keep hitting the link while it is down).
        connections = proxy.accepted
        cut_at = time.monotonic()
        proxy.cut()
        wait_for(lambda: time.monotonic() - cut_at >= FLAP_PERIOD_S / 2, timeout=FLAP_PERIOD_S + 1,
                 interval=0.1, what="the end of the cut")
        proxy.heal()
        wait_for(lambda: proxy.accepted > connections, timeout=45, interval=0.1, what="the bridge reconnecting")
        flaps += 1
        up_at = time.monotonic()
        wait_for(lambda: time.monotonic() - up_at >= FLAP_PERIOD_S / 2, timeout=FLAP_PERIOD_S + 1,
                 interval=0.1, what="the end of the healed spell")
    assert flaps >= 3
    rig.wait_links({"xa-a": True, "xa-b": True}, timeout=60)
    for bc in programme:
        wait_for(lambda: stored(ctl, "loa-a", bc) == ["finished", "started"], timeout=60,
                 what=f"{bc['id']} aired and stored")
    for agent in agents.values():
        assert_every_event_once(ctl, agent)
