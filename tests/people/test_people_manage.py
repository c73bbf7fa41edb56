"""Administrators edit, reset and disable accounts through the JSON API: scope, guard rails,
sessions that end, the audit trail, and bad input that changes nothing."""

from __future__ import annotations

import json
import sqlite3

import pytest

from controller.errors import Conflict
from support.world import PASSWORD, World, make_world

NEW_PASSWORD = "mat-khau-moi-cua-lan"


@pytest.fixture
def world(tmp_path) -> World:
    w = make_world(tmp_path)
    yield w
    w.controller.stop()


def signed_in(world: World, username: str, password: str = PASSWORD):
    """A browser-like client with a session cookie; returns (client, csrf token)."""
    client = world.client()
    csrf = client.get("/api/session").json["csrf_token"]
    r = client.post("/api/login", json={"username": username, "password": password}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.json
    return client, r.json["csrf_token"]


def audit_details(world: World, action: str) -> list[tuple[str, str, dict]]:
    return [(e.actor, e.target, e.details) for e in world.controller.audit.entries(action=action)]


def test_role_and_scope_change_ends_sessions_and_is_audited(world):
    client, _ = signed_in(world, "editor-a")
    assert client.get("/api/units").status_code == 200
    r = world.call("admin", "PATCH", "/api/users/editor-a", {"role": "approver", "display_name": " Chị Lan "})
    assert r.status_code == 200
    assert r.json == {"username": "editor-a", "display_name": "Chị Lan", "role": "approver", "unit_id": "xa-a"}
    assert client.get("/api/units").status_code == 401  # the old session has ended
    assert audit_details(world, "user_updated") == [
        ("admin-a", "editor-a", {"display_name": ["", "Chị Lan"], "role": ["editor", "approver"]})]

    # A name alone keeps the session; a new scope (inside the admin's subtree) ends it again.
    client, _ = signed_in(world, "editor-a")
    assert world.call("admin", "PATCH", "/api/users/editor-a", {"display_name": "Lan"}).status_code == 200
    assert client.get("/api/units").status_code == 200
    assert world.call("admin", "PATCH", "/api/users/editor-a", {"unit_id": "thon-a"}).json["unit_id"] == "thon-a"
    assert client.get("/api/units").status_code == 401
    assert world.call("root", "PATCH", "/api/users/editor-a", {"unit_id": "*"}).json["unit_id"] == "*"


def test_password_reset_ends_sessions_and_the_new_password_works(world):
    client, _ = signed_in(world, "approver-a")
    r = world.call("admin", "POST", "/api/users/approver-a/password", {"password": NEW_PASSWORD})
    assert r.status_code == 200 and r.json["sessions_ended"] is True
    assert client.get("/api/units").status_code == 401
    fresh = world.client()
    csrf = fresh.get("/api/session").json["csrf_token"]
    old = fresh.post("/api/login", json={"username": "approver-a", "password": PASSWORD}, headers={"X-CSRF-Token": csrf})
    assert old.status_code == 401
    signed_in(world, "approver-a", NEW_PASSWORD)
    assert audit_details(world, "password_changed") == [("admin-a", "approver-a", {"sessions_ended": True})]
    with sqlite3.connect(world.controller.config.db_path) as conn:
        stored = " ".join(r[0] for r in conn.execute("SELECT details FROM audit_log"))
    assert NEW_PASSWORD not in stored and PASSWORD not in stored
    assert world.call("approver", "GET", "/api/units").status_code == 200  # API tokens stay by default


def test_a_password_reset_can_revoke_the_api_tokens_too(world):
    bad = world.call("admin", "POST", "/api/users/approver-a/password", {"password": NEW_PASSWORD, "revoke_tokens": "yes"})
    assert bad.status_code == 400 and bad.json["field"] == "revoke_tokens"
    signed_in(world, "approver-a")  # nothing changed
    r = world.call("admin", "POST", "/api/users/approver-a/password", {"password": NEW_PASSWORD, "revoke_tokens": True})
    assert r.status_code == 200 and r.json == {"username": "approver-a", "sessions_ended": True, "tokens_revoked": 1}
    assert world.call("approver", "GET", "/api/units").status_code == 401
    assert audit_details(world, "password_changed") == [
        ("admin-a", "approver-a", {"sessions_ended": True, "tokens_revoked": 1})]


def test_disabled_user_is_locked_out_and_keeps_the_name(world):
    client, _ = signed_in(world, "auditor-a")
    r = world.call("admin", "POST", "/api/users/auditor-a/disable")
    assert r.status_code == 200 and r.json == {"username": "auditor-a", "disabled": True}
    assert client.get("/api/units").status_code == 401
    token = world.call("auditor", "GET", "/api/units")
    assert token.status_code == 401 and token.json["code"] == "invalid_token"
    assert "auditor-a" not in [u["username"] for u in world.call("root", "GET", "/api/users").json]
    assert audit_details(world, "user_disabled") == [("admin-a", "auditor-a", {})]
    again = world.call("root", "POST", "/api/users", {"username": "auditor-a", "password": PASSWORD, "role": "editor",
                                                      "unit_id": "xa-a"})
    assert again.status_code == 409 and "vô hiệu hóa" in again.json["error"]
    for method, path, payload in (("POST", "/api/users/auditor-a/disable", None),
                                  ("PATCH", "/api/users/auditor-a", {"role": "editor"}),
                                  ("POST", "/api/users/auditor-a/password", {"password": NEW_PASSWORD})):
        r = world.call("root", method, path, payload)
        assert r.status_code == 404 and r.json["error"] == "Không có người dùng 'auditor-a'."


def test_a_disabled_account_comes_back_with_a_new_password_and_no_old_tokens(world):
    world.call("admin", "POST", "/api/users/auditor-a/disable")
    listed = world.call("admin", "GET", "/api/users?disabled=1").json
    assert [u["username"] for u in listed] == ["auditor-a"]
    weak = world.call("admin", "POST", "/api/users/auditor-a/enable", {"password": "ngan"})
    assert weak.status_code == 400 and weak.json["field"] == "password"
    assert world.controller.users.find("auditor-a") is None  # still disabled

    r = world.call("admin", "POST", "/api/users/auditor-a/enable", {"password": NEW_PASSWORD})
    assert r.status_code == 200
    assert (r.json["username"], r.json["role"], r.json["unit_id"]) == ("auditor-a", "auditor", "xa-a")
    assert world.call("auditor", "GET", "/api/units").status_code == 401  # the old token stays revoked
    fresh = world.client()
    csrf = fresh.get("/api/session").json["csrf_token"]
    old = fresh.post("/api/login", json={"username": "auditor-a", "password": PASSWORD}, headers={"X-CSRF-Token": csrf})
    assert old.status_code == 401
    signed_in(world, "auditor-a", NEW_PASSWORD)
    assert audit_details(world, "user_enabled") == [("admin-a", "auditor-a", {"tokens_revoked": 1})]
    assert world.call("admin", "GET", "/api/users?disabled=1").json == []

    again = world.call("admin", "POST", "/api/users/auditor-a/enable", {"password": NEW_PASSWORD})
    assert again.status_code == 404 and "vô hiệu hóa" in again.json["error"]
    world.controller.users.add("editor-b", PASSWORD, "editor", "xa-b")
    world.call("root", "POST", "/api/users/editor-b/disable")
    assert world.call("admin", "GET", "/api/users?disabled=1").json == []  # commune B's people are not listed
    outside = world.call("admin", "POST", "/api/users/editor-b/enable", {"password": NEW_PASSWORD})
    assert outside.status_code == 403 and outside.json["code"] == "out_of_scope"
    assert world.controller.users.find("editor-b") is None


def test_scoped_admin_acts_only_inside_their_subtree(world):
    world.controller.users.add("editor-b", PASSWORD, "editor", "xa-b")
    refusals = [
        ("PATCH", "/api/users/editor-b", {"display_name": "x"}),  # a user of commune B
        ("POST", "/api/users/editor-b/password", {"password": NEW_PASSWORD}),
        ("POST", "/api/users/editor-b/disable", None),
        ("PATCH", "/api/users/root", {"display_name": "x"}),  # the whole-tree administrator
        ("POST", "/api/users/root/password", {"password": NEW_PASSWORD}),
        ("PATCH", "/api/users/editor-a", {"unit_id": "xa-b"}),  # granting a unit outside the subtree
        ("PATCH", "/api/users/editor-a", {"unit_id": "*"}),
        ("PATCH", "/api/users/editor-a", {"unit_id": None}),
    ]
    for method, path, payload in refusals:
        r = world.call("admin", method, path, payload)
        assert r.status_code == 403 and r.json["code"] == "out_of_scope", (path, payload, r.json)
    users = world.controller.users
    assert users.get("editor-b").display_name == "" and users.get("editor-a").unit_id == "xa-a"
    signed_in(world, "editor-b")  # password unchanged
    for who in ("editor", "approver", "auditor"):  # only "manage" may
        r = world.call(who, "POST", "/api/users/editor-a/disable")
        assert r.status_code == 403 and r.json["code"] == "forbidden"
    assert audit_details(world, "user_updated") == audit_details(world, "user_disabled") == []


def test_guard_rails_keep_an_administrator(world):
    for who, method, path, payload in (("admin", "PATCH", "/api/users/admin-a", {"role": "editor"}),
                                       ("admin", "PATCH", "/api/users/admin-a", {"unit_id": "thon-a"}),
                                       ("admin", "POST", "/api/users/admin-a/disable", None),
                                       ("root", "PATCH", "/api/users/root", {"unit_id": "tinh"}),
                                       ("root", "POST", "/api/users/root/disable", None)):
        r = world.call(who, method, path, payload)
        assert r.status_code == 409 and r.json["code"] == "own_account", r.json
    assert world.call("admin", "PATCH", "/api/users/admin-a", {"display_name": "Anh Ba"}).status_code == 200
    users = world.controller.users
    # The last active whole-tree administrator cannot be disabled, demoted or narrowed, from anywhere.
    for attempt in (lambda: users.disable("root"), lambda: users.update("root", role="approver"),
                    lambda: users.update("root", unit_id="tinh")):
        with pytest.raises(Conflict, match="cuối cùng"):
            attempt()
    assert users.get("root").role == "admin" and users.get("root").unit_id is None
    users.add("root-2", PASSWORD, "admin", None)
    world.tokens["root-2"] = users.create_token("root-2")
    assert world.call("root-2", "PATCH", "/api/users/root", {"unit_id": "tinh"}).status_code == 200
    with pytest.raises(Conflict, match="cuối cùng"):
        users.disable("root-2")


def test_bad_input_is_refused_clearly_and_changes_nothing(world):
    cases = [
        ("PATCH", "/api/users/editor-a", {"role": "boss"}, "role"),
        ("PATCH", "/api/users/editor-a", {"role": 5}, "role"),
        ("PATCH", "/api/users/editor-a", {"unit_id": 7}, "unit_id"),
        ("PATCH", "/api/users/editor-a", {"display_name": ["x"]}, "display_name"),
        ("PATCH", "/api/users/editor-a", {"display_name": "x" * 201}, "display_name"),
        ("PATCH", "/api/users/editor-a", {"password": NEW_PASSWORD}, "password"),
        ("PATCH", "/api/users/editor-a", {}, None),
        ("POST", "/api/users/editor-a/password", {}, "password"),
        ("POST", "/api/users/editor-a/password", {"password": "ngan"}, "password"),
        ("POST", "/api/users/editor-a/password", {"password": "editor-a"}, "password"),
        ("POST", "/api/users/editor-a/password", {"password": 12345678901}, "password"),
    ]
    for method, path, payload, field in cases:
        r = world.call("root", method, path, payload)
        assert r.status_code == 400 and r.json["error"] and r.json.get("field") == field, (payload, r.json)
    r = world.call("root", "PATCH", "/api/users/editor-a", {"unit_id": "khong-co"})
    assert r.status_code == 400 and r.json["error"] == "Không có đơn vị 'khong-co'."
    r = world.client().patch("/api/users/editor-a", data="role=admin", headers={
        "Authorization": f"Bearer {world.tokens['root']}", "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json["code"] == "invalid_json"
    assert world.call("root", "PATCH", "/api/users/khong-ai", {"role": "editor"}).status_code == 404
    assert world.controller.users.get("editor-a").to_dict() == {"username": "editor-a", "display_name": "",
                                                                "role": "editor", "unit_id": "xa-a"}
    signed_in(world, "editor-a")
    assert json.dumps(audit_details(world, "user_updated")) == "[]"


def test_the_cli_lists_and_enables_disabled_accounts(world):
    """``loaxa user disable|list --disabled|enable`` on the same database, as an operator at the shell would."""
    import os
    import subprocess

    from support.harness import loaxa

    env = {**os.environ, "LOAXA_DATA_DIR": str(world.controller.config.data_dir)}

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(loaxa("user", *args), input=stdin, capture_output=True, text=True, env=env, timeout=60)

    assert cli("disable", "editor-a").returncode == 0
    listed = cli("list", "--disabled")
    assert listed.returncode == 0 and listed.stdout.split()[0] == "editor-a"
    weak = cli("enable", "editor-a", stdin="ngan\n")
    assert weak.returncode != 0 and "ít nhất" in weak.stderr
    done = cli("enable", "editor-a", stdin=NEW_PASSWORD + "\n")
    assert done.returncode == 0 and "1 old API token(s) revoked" in done.stdout
    assert world.call("editor", "GET", "/api/units").status_code == 401
    signed_in(world, "editor-a", NEW_PASSWORD)
    assert audit_details(world, "user_enabled") == [("cli", "editor-a", {"tokens_revoked": 1})]
    unknown = cli("enable", "nobody", stdin=NEW_PASSWORD + "\n")
    assert unknown.returncode != 0 and "nobody" in unknown.stderr
