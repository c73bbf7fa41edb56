"""``/metrics`` reports device connection state, pending plans and stored events from real activity."""

from __future__ import annotations

import urllib.request

from support.harness import wait_for

from support.tree import seed_commune


def scrape(url: str) -> dict[str, float]:
    text = urllib.request.urlopen(f"{url}/metrics").read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def test_metrics_follow_devices_and_events(system):
    ctl = system.controller()
    seed_commune(ctl.api, {"loa-1": "thon-a", "loa-2": "thon-a"})
    m = scrape(ctl.url)
    assert m['loaxa_devices{state="offline"}'] == 2
    assert m["loaxa_broker_connected"] == 1
    system.agent("loa-1", ctl.api.get("/api/pubkey")["public_key"], ctl.url)
    m = wait_for(lambda: (s := scrape(ctl.url))['loaxa_devices{state="online"}'] == 1 and s, what="one device online")
    assert m['loaxa_devices{state="offline"}'] == 1
    # The agent reports "delivered" for its first plan: one stored event.
    wait_for(lambda: scrape(ctl.url)["loaxa_playback_events_stored_total"] >= 1, what="an event counted")
    assert "loaxa_plans_pending" in m
