"""The dispatcher's signed plans are byte for byte what sealing the whole plan gives.

The dispatcher serialises each class of devices' items once and seals the bodies through
``seal_body``; a device cannot tell: parsing a published plan and sealing it again as a
:class:`~loaxa.protocol.Plan` gives the same bytes.  In process: a real controller (not
started, so nothing goes to a broker), real SQLite and the key file's keyring.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from loaxa.local_time import to_local
from loaxa.protocol import Plan, Verifier
from loaxa.wire_time import format_time, utcnow
from support.world import make_controller, seed_tree


@pytest.fixture
def controller(tmp_path):
    c = make_controller(tmp_path, plans_auto_approve="true")
    seed_tree(c)
    c.registry.add_device("loa-a2", "Cụm loa A2", "thon-a")  # shares loa-a's items
    now = format_time(utcnow())
    with c.db.tx() as conn:
        for n in range(2):
            sha = f"{n + 1:02x}" * 32
            conn["media"].insert({"sha256": sha, "ext": "ogg", "size": 20_000 + n, "duration_s": 30.0 + n,
                                  "engine": "espeak", "created_at": now})
            conn["bulletins"].insert({"id": f"bt-{n}", "title": f"Bản tin số {n}", "text": "x", "script": "x",
                                      "media_sha256": sha, "created_at": now})
    day = to_local(utcnow()).date() + timedelta(days=1)
    rule = {"start_date": day.isoformat(), "end_date": day.isoformat(), "slot_times": ["06:00", "17:00"]}
    c.broadcasts.schedule("bt-0", targets=["tinh"], rule=rule)
    c.broadcasts.schedule("bt-1", targets=["xa-a"], priority="priority", rule={**rule, "slot_times": ["11:00"]})
    yield c
    c.db.close()


def test_each_published_plan_seals_again_to_the_same_bytes(controller):
    c = controller
    assert c.dispatcher.rebuild(force=True).sent == 3
    verifier = Verifier([c.signer.public_key])
    sizes = {}
    for device_id in ("loa-a", "loa-a2", "loa-b"):
        payload = c.dispatcher.current_payload(device_id)
        assert payload is not None
        plan = verifier.open(payload, Plan)
        assert plan.device_id == device_id
        sizes[device_id] = len(plan.items)
        assert c.signer.seal(plan) == payload
    assert sizes == {"loa-a": 3, "loa-a2": 3, "loa-b": 2}
