"""The controller's /metrics shows each commune broker's queue figures, bridged up from its $SYS tree.

Commune ``xa-a`` runs its generated configuration with a queue limit of 3 messages.  With
its link cut, a pole publishes 12 event batches: they queue on the commune broker for the
bridge, the ones past the limit are dropped, and once the link heals the controller's
``/metrics`` reports those drops for ``xa-a`` (and none for ``xa-b``).
"""

from __future__ import annotations

import re
import urllib.request

from controller.security import commune_config
from loaxa import protocol
from support.harness import wait_for
from support.tree_rig import TreeRig, idle_pole_watch

QUEUE_LIMIT = 3


def figures(ctl, name: str) -> dict[str, float]:
    text = urllib.request.urlopen(f"{ctl.url}/metrics", timeout=10).read().decode()
    return {m[1]: float(m[2]) for m in re.finditer(rf'^{name}{{broker="([^"]+)"}} (\S+)$', text, re.M)}


def test_bridge_queue_drops_reach_the_controllers_metrics(tmp_path):
    rig = TreeRig(tmp_path)
    try:
        rig.build({"loa-a": "thon-a", "loa-b": "thon-b"})
        conf = commune_config.commune_files(rig.config, "xa-a").conf
        generated = conf.read_text()
        assert "topic store/messages/count out 0 $SYS/broker/ loaxa/v1/bridge/xa-a/sys/" in generated
        conf.write_text(re.sub(r"\nmax_queued_messages \d+\n", f"\nmax_queued_messages {QUEUE_LIMIT}\n", generated))
        rig.start_all()
        ctl = rig.controller()
        rig.wait_links({"xa-a": True, "xa-b": True})
        wait_for(lambda: all(set(figures(ctl, f"loaxa_bridge_messages_{m}")) == {"xa-a", "xa-b"}
                             for m in ("stored", "dropped_total")), timeout=60,
                 what="both commune brokers' figures in /metrics")
        assert figures(ctl, "loaxa_bridge_messages_dropped_total") == {"xa-a": 0, "xa-b": 0}

        pole = idle_pole_watch(rig, "loa-a", "xa-a")
        rig.proxies["xa-a"].cut()
        rig.wait_links({"xa-a": False, "xa-b": True}, timeout=30)
        held = figures(ctl, "loaxa_bridge_messages_stored")["xa-a"]
        for n in range(4 * QUEUE_LIMIT):
            pole.publish(protocol.events_topic("loa-a"), b'{"not": "a signed batch %d"}' % n)
        rig.proxies["xa-a"].heal()
        rig.wait_links({"xa-a": True, "xa-b": True}, timeout=60)
        wait_for(lambda: figures(ctl, "loaxa_bridge_messages_dropped_total").get("xa-a", 0) > 0, timeout=60,
                 what="xa-a's dropped messages reported after the link healed")
        assert figures(ctl, "loaxa_bridge_messages_dropped_total")["xa-b"] == 0
        assert figures(ctl, "loaxa_bridge_messages_stored")["xa-a"] >= held
        pole.close()
    finally:
        rig.close()
