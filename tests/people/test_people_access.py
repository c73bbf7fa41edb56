"""Sign-in, sessions, CSRF, throttling, tokens and the fail-closed access rules, against the real app."""

from __future__ import annotations

import sqlite3
import stat

import pytest
from flask import Blueprint

from support.world import PASSWORD, World, make_controller, make_world, seed_tree, tomorrow_10h
from web.app import create_app
from web.auth import rule_for


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    w = make_world(tmp_path_factory.mktemp("people"))
    yield w
    w.controller.stop()


def test_every_api_rule_declares_an_access_rule(world):
    missing = [f"{r.rule} ({r.endpoint})" for r in world.app.url_map.iter_rules()
               if r.rule.startswith("/api/") and rule_for(world.app, r.endpoint) is None]
    assert missing == []
    assert sum(1 for r in world.app.url_map.iter_rules() if r.rule.startswith("/api/")) >= 15


def test_an_endpoint_without_a_rule_fails_closed(tmp_path):
    c = make_controller(tmp_path)
    app = create_app(c, {"TESTING": True})
    bp = Blueprint("forgotten", __name__)
    bp.add_url_rule("/api/forgotten", "forgotten", lambda: {"secret": 42})
    app.register_blueprint(bp)
    c.users.add("root", PASSWORD, "admin", None)
    token = c.users.create_token("root")
    r = app.test_client().get("/api/forgotten", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403 and r.json["code"] == "no_access_rule"
    c.stop()


def test_no_user_exists_until_one_is_added_and_nothing_is_open(tmp_path):
    c = make_controller(tmp_path)
    app = create_app(c, {"TESTING": True})
    seed_tree(c)
    assert c.users.count() == 0
    client = app.test_client()
    for method, path in (("GET", "/api/units"), ("GET", "/api/devices"), ("POST", "/api/units"), ("GET", "/api/audit")):
        headers = {"X-CSRF-Token": client.get("/api/session").json["csrf_token"]}
        assert client.open(path, method=method, json={}, headers=headers).status_code == 401, path
    for name in ("admin", "root", "loaxa"):
        client.get("/api/session")
        csrf = client.get("/api/session").json["csrf_token"]
        r = client.post("/api/login", json={"username": name, "password": name}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 401
    assert client.get("/api/health").status_code == 200  # public
    c.stop()


def test_secret_key_is_generated_per_installation_and_private(tmp_path):
    keys = []
    for n in (1, 2):
        c = make_controller(tmp_path / str(n))
        app = create_app(c)
        path = tmp_path / str(n) / "keys" / "session-secret"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        keys.append(app.config["SECRET_KEY"])
        assert create_app(c).config["SECRET_KEY"] == keys[-1]  # stable across restarts
        c.stop()
    assert keys[0] != keys[1] and len(keys[0]) == 32


def test_passwords_are_stored_as_salted_scrypt(world):
    with sqlite3.connect(world.controller.config.db_path) as conn:
        hashes = [r[0] for r in conn.execute("SELECT password_hash FROM users")]
        tokens = [r[0] for r in conn.execute("SELECT token_sha256 FROM api_tokens")]
    assert all(h.startswith("scrypt$32768$8$1$") and PASSWORD not in h for h in hashes)
    assert len({h.split("$")[4] for h in hashes}) == len(hashes)  # one salt each
    assert not set(tokens) & set(world.tokens.values())


def _session_client(world: World):
    client = world.client()
    csrf = client.get("/api/session").json["csrf_token"]
    return client, csrf


def test_session_sign_in_sets_safe_cookie_flags_and_rotates_the_csrf_token(world):
    client, csrf = _session_client(world)
    assert client.post("/api/login", json={"username": "editor-a", "password": PASSWORD}).status_code == 403
    r = client.post("/api/login", json={"username": "editor-a", "password": PASSWORD}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json["user"]["role"] == "editor"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert r.json["csrf_token"] != csrf
    me = client.get("/api/session").json
    assert me["user"]["username"] == "editor-a" and me["csrf_token"] == r.json["csrf_token"]


def test_cookie_is_secure_behind_https(tmp_path):
    c = make_controller(tmp_path, http_public_url="https://loa.example.vn")
    assert create_app(c).config["SESSION_COOKIE_SECURE"] is True
    c.stop()


def test_state_changes_by_session_need_the_csrf_token_bearer_tokens_do_not(world):
    client, csrf = _session_client(world)
    r = client.post("/api/login", json={"username": "admin-a", "password": PASSWORD}, headers={"X-CSRF-Token": csrf})
    csrf = r.json["csrf_token"]
    unit = {"id": "thon-a2", "name": "Thôn A2", "parent_id": "xa-a"}
    for bad in ({}, {"X-CSRF-Token": "guess"}, {"X-CSRF-Token": ""}):
        r = client.post("/api/units", json=unit, headers=bad)
        assert r.status_code == 403 and r.json["code"] == "csrf_failed"
    assert client.delete("/api/broadcasts/x").status_code == 403
    assert not [u for u in world.controller.registry.units() if u.id == "thon-a2"]
    assert client.post("/api/units", json=unit, headers={"X-CSRF-Token": csrf}).status_code == 201
    r = world.call("admin", "POST", "/api/units", {"id": "thon-a3", "name": "Thôn A3", "parent_id": "xa-a"})
    assert r.status_code == 201
    assert client.post("/api/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.get("/api/units").status_code == 401


def test_bad_or_revoked_tokens_are_refused(world):
    c = world.controller
    c.users.add("tam-thoi", PASSWORD, "editor", "xa-a")
    token = c.users.create_token("tam-thoi")
    headers = {"Authorization": f"Bearer {token}"}
    assert world.client().get("/api/units", headers=headers).status_code == 200
    c.users.disable("tam-thoi")
    assert world.client().get("/api/units", headers=headers).status_code == 401
    c.users.add("tam-thoi-2", PASSWORD, "editor", "xa-a")
    kept, dropped = c.users.create_token("tam-thoi-2", "giu"), c.users.create_token("tam-thoi-2", "bo")
    assert c.users.revoke_tokens("tam-thoi-2", "bo") == 1
    assert c.users.by_token(dropped) is None and c.users.by_token(kept).username == "tam-thoi-2"
    for bad in ("Bearer lx_nope", "Bearer ", "Basic cm9vdDpyb290", "Bearer " + "x" * 5000):
        r = world.client().get("/api/units", headers={"Authorization": bad})
        assert r.status_code == 401 and r.json["code"] == "invalid_token"


def test_login_is_throttled_per_user_and_per_address(tmp_path):
    w = make_world(tmp_path, people_max_failures_per_user="3", people_max_failures_per_ip="5")
    client, csrf = _session_client(w)
    h = {"X-CSRF-Token": csrf}
    for _ in range(3):
        assert client.post("/api/login", json={"username": "editor-a", "password": "sai-mat-khau"}, headers=h).status_code == 401
    r = client.post("/api/login", json={"username": "editor-a", "password": PASSWORD}, headers=h)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0  # even the right password waits
    # Another user from the same address has two tries left before the address is throttled.
    for _ in range(2):
        assert client.post("/api/login", json={"username": "auditor-a", "password": "x"}, headers=h).status_code == 401
    assert client.post("/api/login", json={"username": "approver-a", "password": PASSWORD}, headers=h).status_code == 429
    other = w.client()
    csrf2 = other.get("/api/session", environ_base={"REMOTE_ADDR": "10.0.0.9"}).json["csrf_token"]
    r = other.post("/api/login", json={"username": "approver-a", "password": PASSWORD}, headers={"X-CSRF-Token": csrf2},
                   environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert r.status_code == 200
    actions = [e.action for e in w.controller.audit.entries()]
    assert actions.count("login_failed") == 5 and "login_throttled" in actions and "login" in actions
    w.controller.stop()


def test_two_person_rule_and_its_one_person_switch(tmp_path):
    for two_person, expected in (("true", 403), ("false", 200)):
        w = make_world(tmp_path / two_person, people_two_person_rule=two_person)
        b = w.call("editor", "POST", "/api/bulletins", {"text": "Thông báo ngắn."}).json  # one the approver may read
        bc = w.call("approver", "POST", "/api/broadcasts",
                    {"bulletin_id": b["id"], "starts_at": tomorrow_10h(), "targets": ["xa-a"]}).json
        r = w.call("approver", "POST", f"/api/broadcasts/{bc['id']}/approve", {})
        assert r.status_code == expected, r.json
        if expected == 403:
            assert r.json["code"] == "two_person_rule"
            assert w.call("admin", "POST", f"/api/broadcasts/{bc['id']}/approve", {}).status_code == 200
        approved = w.controller.broadcasts.get(bc["id"])
        assert approved.status == "approved"
        entry = w.controller.audit.entries(action="broadcast_approved")[0]
        assert entry.target == bc["id"] and entry.actor in ("approver-a", "admin-a")
        w.controller.stop()


def test_user_text_is_escaped_in_pages_and_returned_as_data_in_json(world):
    name = '<script>alert("x")</script>'
    r = world.call("root", "POST", "/api/units", {"id": "thon-xss", "name": name, "parent_id": "xa-b"})
    assert r.status_code == 201 and r.json["name"] == name and r.mimetype == "application/json"
    assert world.app.select_jinja_autoescape("page.html")
    with world.app.test_request_context():
        from flask import render_template_string

        assert "<script>" not in render_template_string("{{ n }}", n=name)


def test_demo_admin_gets_a_fresh_random_password_each_run(tmp_path):
    from controller.devtools.demo import controller_toml, demo_admin

    cfg = tmp_path / "controller.toml"
    cfg.write_text(controller_toml(tmp_path / "controller", 1883, 8080))
    first, second = demo_admin(cfg), demo_admin(cfg)
    assert first.password != second.password and len(second.password) >= 16
    c = make_controller(tmp_path / "controller")
    with pytest.raises(Exception, match="Sai tên đăng nhập"):
        c.users.authenticate("demo-admin", first.password, "127.0.0.1")
    assert c.users.authenticate("demo-admin", second.password, "127.0.0.1").role == "admin"
    assert c.users.by_token(second.token).username == "demo-admin"
    assert c.users.by_token(first.token) is None  # the previous run's token is revoked
    c.stop()


def test_odd_csrf_headers_are_refused_not_crashed_on(world):
    client, csrf = _session_client(world)
    for sent in ("ệ" * 10, csrf + "\x00", "\udcff"):
        r = client.post("/api/logout", headers={"X-CSRF-Token": sent.encode("utf-8", "surrogatepass").decode("latin-1")})
        assert r.status_code == 403 and r.json["code"] == "csrf_failed"


def test_pages_redirect_to_sign_in_and_refuse_with_an_html_page(world):
    client = world.client()
    r = client.get("/admin")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=/admin")
    csrf = client.get("/api/session").json["csrf_token"]
    client.post("/api/login", json={"username": "editor-a", "password": PASSWORD}, headers={"X-CSRF-Token": csrf})
    r = client.get("/admin")
    assert r.status_code == 403 and r.mimetype == "text/html"
