"""Role × endpoint × inside/outside the user's subtree → allowed or refused, on the server.

Every scoped user holds their role in ``xa-a``.  "Allowed" means the request passed the
access check (it may still fail validation: those bodies are chosen so that nothing heavy
runs); "refused" means 403 and nothing changed.
"""

from __future__ import annotations

import pytest

from support.world import ROLES, World, make_world, tomorrow_10h

ALL = set(ROLES)
DRAFT = {"admin", "approver", "editor"}
APPROVE = {"admin", "approver"}
AUDIT = {"admin", "approver", "auditor"}
ADMIN = {"admin"}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    w = make_world(tmp_path_factory.mktemp("matrix"), plans_auto_approve="false")
    b = w.call("root", "POST", "/api/bulletins", {"text": "Thông báo ngắn."}).json
    w.ids["bulletin"] = b["id"]
    for x in ("a", "b"):
        bc = w.call("root", "POST", "/api/broadcasts",
                    {"bulletin_id": b["id"], "starts_at": tomorrow_10h(), "targets": [f"xa-{x}"]}).json
        w.ids[f"bc-{x}"] = bc["id"]
    yield w
    w.controller.stop()


def _cases():
    """(name, allowed roles, in-subtree request, out-of-subtree request); requests are (method, path, body)."""
    return [
        ("list units", ALL, ("GET", "/api/units", None), None),
        ("read device", ALL, ("GET", "/api/devices/loa-a", None), ("GET", "/api/devices/loa-b", None)),
        ("read broadcast", ALL, ("GET", "/api/broadcasts/{bc-a}", None), ("GET", "/api/broadcasts/{bc-b}", None)),
        ("read plan", ALL, ("GET", "/api/plans/loa-a", None), ("GET", "/api/plans/loa-b", None)),
        ("read guardrails", ALL, ("GET", "/api/units/xa-a/guardrails", None), ("GET", "/api/units/xa-b/guardrails", None)),
        ("playback log", ALL, ("GET", "/api/playback", None), None),
        ("audit trail", AUDIT, ("GET", "/api/audit", None), None),
        ("add unit", ADMIN, ("POST", "/api/units", {"id": "../bad", "name": "X", "parent_id": "xa-a"}),
         ("POST", "/api/units", {"id": "../bad", "name": "X", "parent_id": "xa-b"})),
        ("add device", ADMIN, ("POST", "/api/devices", {"id": "../bad", "name": "X", "unit_id": "thon-a"}),
         ("POST", "/api/devices", {"id": "../bad", "name": "X", "unit_id": "thon-b"})),
        ("add user", ADMIN, ("POST", "/api/users", {"username": "Bad Name", "password": "x", "role": "editor", "unit_id": "xa-a"}),
         ("POST", "/api/users", {"username": "Bad Name", "password": "x", "role": "editor", "unit_id": "xa-b"})),
        ("draft bulletin", DRAFT, ("POST", "/api/bulletins", {"text": ""}), None),
        ("schedule", DRAFT, ("POST", "/api/broadcasts", {"bulletin_id": "nope", "starts_at": "x", "targets": ["xa-a"]}),
         ("POST", "/api/broadcasts", {"bulletin_id": "nope", "starts_at": "x", "targets": ["loa-b"]})),
        ("emergency", APPROVE, ("POST", "/api/broadcasts", {"bulletin_id": "nope", "starts_at": "x", "targets": ["xa-a"],
                                                             "priority": "emergency"}),
         ("POST", "/api/emergency", {"targets": ["xa-b"], "text": ""})),
        ("edit broadcast", DRAFT, ("PATCH", "/api/broadcasts/{bc-a}", {"starts_at": "x"}),
         ("PATCH", "/api/broadcasts/{bc-b}", {"starts_at": "x"})),
        ("reject", APPROVE, ("POST", "/api/broadcasts/nope/reject", {}), ("POST", "/api/broadcasts/{bc-b}/reject", {})),
        ("approve", APPROVE, ("POST", "/api/broadcasts/nope/approve", {}), ("POST", "/api/broadcasts/{bc-b}/approve", {})),
        ("cancel", DRAFT, ("DELETE", "/api/broadcasts/nope", None), ("DELETE", "/api/broadcasts/{bc-b}", None)),
        ("guardrails", ADMIN, ("PUT", "/api/units/xa-a/guardrails", {"values": "x"}),
         ("PUT", "/api/units/xa-b/guardrails", {"values": {}})),
    ]


CASES = [(role, name, allowed, inside, outside) for name, allowed, inside, outside in _cases() for role in ROLES]


@pytest.mark.parametrize("role, name, allowed, inside, outside", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_role_matrix(world, role, name, allowed, inside, outside):
    before = _snapshot(world)
    method, path, body = inside
    r = world.call(role, method, path.format(**world.ids), body)
    if role in allowed:
        assert r.status_code not in (401, 403) and r.status_code < 500, (r.status_code, r.json)
    else:
        assert r.status_code == 403 and r.json["code"] == "forbidden", r.json
    if outside is not None:
        method, path, body = outside
        r = world.call(role, method, path.format(**world.ids), body)
        assert r.status_code == 403, (r.status_code, r.json)
    assert _snapshot(world) == before


def _snapshot(world: World) -> tuple:
    c = world.controller
    with c.db.tx() as db:
        return tuple(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                     for t in ("units", "devices", "users", "bulletins", "broadcasts")) + tuple(
            (b.id, b.status, b.starts_at) for b in c.broadcasts.list())


@pytest.mark.parametrize("role", ROLES)
def test_lists_show_only_the_subtree(world, role):
    units = {u["id"] for u in world.call(role, "GET", "/api/units").json}
    devices = {d["id"] for d in world.call(role, "GET", "/api/devices").json}
    broadcasts = {b["id"] for b in world.call(role, "GET", "/api/broadcasts").json}
    assert units <= {"xa-a", "thon-a", "thon-a2", "thon-a3"} and {"xa-a", "thon-a"} <= units
    assert devices == {"loa-a"}
    assert broadcasts == {world.ids["bc-a"]}
    root = {b["id"] for b in world.call("root", "GET", "/api/broadcasts").json}
    assert {world.ids["bc-a"], world.ids["bc-b"]} <= root


def test_bulletins_of_another_commune_are_hidden(world):
    mine = world.call("editor", "POST", "/api/bulletins", {"text": "Thông báo của xã A."}).json
    assert world.call("auditor", "GET", f"/api/bulletins/{mine['id']}").status_code == 200
    c = world.controller
    c.users.add("editor-b", "mat-khau-thu-nghiem", "editor", "xa-b")
    token_b = c.users.create_token("editor-b")
    r = world.client().get(f"/api/bulletins/{mine['id']}", headers={"Authorization": f"Bearer {token_b}"})
    assert r.status_code == 403
    listed = world.client().get("/api/bulletins", headers={"Authorization": f"Bearer {token_b}"}).json
    assert mine["id"] not in {b["id"] for b in listed}


def test_playback_log_is_limited_to_the_subtree_in_the_query(world):
    """A scoped user's ``limit`` counts their own devices' events, not everyone's."""
    from controller.devices.ingest import Ingest
    from loaxa.protocol import EventBatch, PlaybackEvent
    from loaxa.wire_time import utcnow

    ingest = Ingest(world.controller.db, world.controller.registry, lambda *a: None)
    now = utcnow()
    for device, n in (("loa-a", 3), ("loa-b", 20)):
        events = tuple(PlaybackEvent(seq=i, kind="finished", recorded_at=now) for i in range(1, n + 1))
        ingest.on_events(device, EventBatch(device_id=device, epoch="pb", events=events))
    rows = world.call("auditor", "GET", "/api/playback?limit=5").json
    assert [r["device_id"] for r in rows] == ["loa-a"] * 3
    assert len(world.call("root", "GET", "/api/playback?limit=5").json) == 5
    assert world.call("auditor", "GET", "/api/playback?device=loa-b").json == []


def test_emergencies_of_another_commune_are_hidden(world):
    """An auditor sees the emergencies of their own commune only."""
    with world.controller.db.tx() as db:
        for x in ("a", "b"):
            db["emergencies"].insert({"id": f"em-{x}", "broadcast_id": world.ids[f"bc-{x}"], "triggered_by": "root",
                                      "reason": "", "topics_json": "[]", "command_seqs_json": "[]", "sha256": "ab" * 32,
                                      "sent_at": "2026-11-25T00:00:00.000+00:00"}, replace=True)
    assert {e["id"] for e in world.call("auditor", "GET", "/api/emergencies").json} == {"em-a"}
    assert {"em-a", "em-b"} <= {e["id"] for e in world.call("root", "GET", "/api/emergencies").json}
