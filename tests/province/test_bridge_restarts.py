"""Brokers of the tree restarted, with real agents on the generated configs.

- The commune broker restarted around a play: the pole plays on, reconnects, and its
  events are stored once; a plan changed while that broker was down reaches the pole.
- The province broker restarted: the commune's events wait on its broker and cross when
  the bridge is back; the controller's plan change made meanwhile converges.
"""

from __future__ import annotations

from datetime import timedelta

from loaxa.wire_time import utcnow
from support.harness import wait_for
from support.tree_rig import assert_every_event_once, broadcast, bulletin, planned, played, stored


def test_a_commune_broker_then_the_province_broker_restarted(province):
    rig, ctl, agents = province
    a = agents["loa-a"]
    texts = bulletin(ctl, "Thông báo họp dân."), bulletin(ctl, "Thông báo lịch cắt điện."), \
        bulletin(ctl, "Thông báo lịch tiêm phòng.")  # rendered first: a busy machine may take seconds each
    first = broadcast(ctl, texts[0], utcnow() + timedelta(seconds=12), "loa-a")
    wait_for(lambda: planned(a, first), timeout=30, what="the first play in loa-a's plan")

    rig.communes["xa-a"].stop()
    changed = broadcast(ctl, texts[1], utcnow() + timedelta(seconds=28), "loa-a")
    wait_for(lambda: played(a, first), timeout=40, what="loa-a plays with its commune broker down")
    rig.communes["xa-a"].start()
    rig.wait_links({"xa-a": True})
    wait_for(lambda: planned(a, changed), timeout=60, what="the plan changed while the commune broker was down")
    wait_for(lambda: stored(ctl, "loa-a", first) == ["finished", "started"], timeout=60,
             what="the first play's events after the commune broker's restart")

    rig.broker.stop()  # the province broker
    wait_for(lambda: played(a, changed), timeout=60, what="loa-a plays with the province broker down")
    latest = broadcast(ctl, texts[2], utcnow() + timedelta(seconds=30), "loa-a")
    rig.broker.start()
    rig.wait_links({"xa-a": True, "xa-b": True}, timeout=60)
    wait_for(lambda: planned(a, latest), timeout=60, what="the plan changed while the province broker was down")
    wait_for(lambda: stored(ctl, "loa-a", changed) == ["finished", "started"], timeout=60,
             what="the events queued behind the province broker's restart")
    for agent in agents.values():
        assert_every_event_once(ctl, agent)
