"""Property-based bad input on every parser that reads from the network: MQTT payloads, API
JSON and uploaded files.  Garbage, oversize, wrong types, invalid UTF-8: a clear error, no crash,
nothing stored."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.devices.ingest import Ingest
from loaxa import protocol
from loaxa.protocol import ProtocolError
from support.world import World, make_controller, make_world
from web.app import create_app

SETTINGS = settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=12)
not_text = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                     st.lists(json_scalars, max_size=3), st.dictionaries(st.text(max_size=5), json_scalars, max_size=3))
DECODED = [protocol.DeviceState, protocol.EventBatch]


def _envelope(kind: str, body) -> bytes:
    return json.dumps({"v": 1, "type": kind, "body": body}).encode()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    w = make_world(tmp_path_factory.mktemp("bad-input"))
    yield w
    w.controller.stop()


@SETTINGS
@given(payload=st.binary(max_size=2000))
def test_decoders_refuse_arbitrary_bytes_with_a_protocol_error(payload):
    for cls in DECODED:
        try:
            protocol.decode(payload, cls)
        except ProtocolError as exc:
            assert str(exc)


@SETTINGS
@given(body=json_values, kind=st.sampled_from(["state", "events", "plan", "x"]))
def test_decoders_refuse_wrong_shapes_and_types(body, kind):
    for cls in DECODED:
        try:
            msg = protocol.decode(_envelope(kind, body), cls)
        except ProtocolError:
            continue
        assert isinstance(msg, cls)


@SETTINGS
@given(event=st.dictionaries(st.sampled_from(["seq", "kind", "recorded_at", "sha256", "duration_s", "flags", "plan_version"]),
                             json_values, max_size=7))
def test_event_fields_of_wrong_type_are_refused(event):
    body = {"device_id": "loa-a", "epoch": "e1", "events": [event]}
    try:
        batch = protocol.decode(_envelope("events", body), protocol.EventBatch)
    except ProtocolError:
        return
    assert batch.events[0].seq >= 1


def _counts(world: World) -> tuple[int, ...]:
    with world.controller.db.tx() as db:
        return tuple(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                     for t in ("units", "devices", "users", "bulletins", "broadcasts", "media", "playback_events", "api_tokens"))


@SETTINGS
@given(payload=st.one_of(st.binary(max_size=500), json_values.map(lambda v: json.dumps(v).encode()),
                         st.just(b"\xff" * 10), st.just(b"{" * (protocol.MAX_PAYLOAD_BYTES + 1))))
def test_ingest_survives_garbage_and_stores_nothing(world, payload):
    before = _counts(world)
    ingest = Ingest(world.controller.db, world.controller.registry, lambda *a: pytest.fail("acked garbage"))
    for topic in (protocol.events_topic("loa-a"), protocol.state_topic("loa-a"), "loaxa/v1/dev/../events", "x"):
        ingest.handle(topic, payload)
    assert ingest.rejected == 4
    assert _counts(world) == before


POSTS = {
    "/api/units": ("id", "name", "parent_id", "level"),
    "/api/devices": ("id", "name", "unit_id"),
    "/api/bulletins": ("title", "text"),
    "/api/broadcasts": ("bulletin_id", "starts_at", "targets", "priority"),
    "/api/users": ("username", "password", "role", "unit_id", "display_name"),
    "/api/login": ("username", "password"),
}


@SETTINGS
@given(path=st.sampled_from(sorted(POSTS)), data=st.data())
def test_api_bodies_with_wrong_types_get_a_clear_4xx_and_store_nothing(world, path, data):
    fields = POSTS[path]
    body = data.draw(st.fixed_dictionaries({}, optional={f: not_text for f in fields}))
    before = _counts(world)
    r = world.call("root", "POST", path, body)
    assert 400 <= r.status_code < 500 and r.status_code != 403, (path, body, r.status_code, r.json)
    assert r.json["error"] and r.json["code"]
    assert _counts(world) == before


@SETTINGS
@given(raw=st.one_of(st.binary(max_size=300), st.just(b"\xc3\x28"), st.just(b'{"text": "\xed\xa0\x80"}'),
                     json_values.filter(lambda v: not isinstance(v, dict)).map(lambda v: json.dumps(v).encode())),
       path=st.sampled_from(sorted(POSTS)))
def test_api_bodies_that_are_not_a_json_object_are_refused(world, raw, path):
    before = _counts(world)
    r = world.client().post(path, data=raw, content_type="application/json",
                            headers={"Authorization": f"Bearer {world.tokens['root']}"})
    assert 400 <= r.status_code < 500, (raw, r.status_code)
    assert r.json["code"]
    assert _counts(world) == before


def test_oversize_bodies_are_refused_before_parsing(tmp_path):
    c = make_controller(tmp_path)
    app = create_app(c, {"MAX_CONTENT_LENGTH": 64 * 1024})
    c.users.add("root", "mat-khau-thu-nghiem", "admin", None)
    token = c.users.create_token("root")
    r = app.test_client().post("/api/bulletins", data=b'{"text": "' + b"a" * 100_000 + b'"}',
                               content_type="application/json", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 413 and r.json["code"]
    with c.db.tx() as db:
        assert db["bulletins"].count == 0
    c.stop()


def _upload(world: World, path: str, name: str, data: bytes):
    import io

    return world.client().post(path, data={"file": (io.BytesIO(data), name), "title": "Tệp thử"},
                               content_type="multipart/form-data",
                               headers={"Authorization": f"Bearer {world.tokens['root']}"})


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.one_of(st.binary(max_size=3000), st.just(b"\xff\xfe\xc3\x28 not utf-8"), st.just(b"PK\x03\x04broken zip")),
       name=st.sampled_from(["tin.txt", "tin.docx", "tin.TXT", "tin.pdf", "../../etc/passwd", "tin"]))
def test_uploaded_documents_are_read_or_refused_clearly(world, data, name):
    before = _counts(world)
    r = _upload(world, "/api/compose/prepare", name, data)
    assert r.status_code == 200 or (400 <= r.status_code < 500 and r.json["code"]), (name, data[:40], r.status_code)
    assert _counts(world) == before  # preparing a script stores nothing


@settings(max_examples=10, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.one_of(st.binary(min_size=1, max_size=3000), st.just(b"ID3" + b"\x00" * 64), st.just(b"RIFF\x00\x00\x00\x00WAVE")),
       name=st.sampled_from(["ghi-am.mp3", "ghi-am.wav", "ghi-am.ogg", "ghi-am.exe"]))
def test_uploaded_recordings_that_are_not_audio_are_refused_and_store_nothing(world, data, name):
    before = _counts(world)
    r = _upload(world, "/api/compose/recording", name, data)
    assert 400 <= r.status_code < 500 and r.json["code"], (name, data[:40], r.status_code)
    assert _counts(world) == before
