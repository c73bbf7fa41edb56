"""Sign-in and enrollment throttling, and the Secure cookie, behind a reverse proxy (``http.trusted_proxies``).

With no trusted proxy, X-Forwarded-* headers are the client's own words and change nothing; with
one, every client reaches the controller from the proxy's address and only the proxy's headers
tell them apart.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import threading
from typing import Any, Iterator

import pytest

from support.world import PASSWORD, World, make_world
from web.serve import http_server

PROXY = "10.0.0.2"  # the reverse proxy, as the controller sees it


def _sign_in(world: World, username: str, password: str, forwarded_for: str | None, peer: str = PROXY):
    """One sign-in attempt from a fresh browser session, through the proxy that reports ``forwarded_for``."""
    client = world.client()
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    environ = {"REMOTE_ADDR": peer}
    csrf = client.get("/api/session", headers=headers, environ_base=environ).json["csrf_token"]
    return client.post("/api/login", json={"username": username, "password": password},
                       headers={**headers, "X-CSRF-Token": csrf}, environ_base=environ)


def _failed_from(world: World) -> list[str]:
    return [e.ip for e in world.controller.audit.entries(action="login_failed")]


@pytest.fixture
def direct(tmp_path) -> Iterator[World]:
    """No proxy in front: at most three failed sign-ins per address."""
    w = make_world(tmp_path / "direct", people_max_failures_per_ip="3", people_max_failures_per_user="50",
                   security_enroll_attempts_per_min="2")
    yield w
    w.controller.stop()


@pytest.fixture
def proxied(tmp_path) -> Iterator[World]:
    """One trusted proxy in front, with the same limits."""
    w = make_world(tmp_path / "proxied", people_max_failures_per_ip="3", people_max_failures_per_user="50",
                   security_enroll_attempts_per_min="2", http_trusted_proxies="1")
    yield w
    w.controller.stop()


def test_without_a_trusted_proxy_a_forged_forwarded_for_does_not_escape_throttling(direct):
    for n, user in enumerate(("editor-a", "auditor-a", "approver-a")):
        assert _sign_in(direct, user, "sai-mat-khau", f"203.0.113.{n}", peer="192.0.2.50").status_code == 401
    r = _sign_in(direct, "admin-a", PASSWORD, "203.0.113.77", peer="192.0.2.50")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert _failed_from(direct) == ["192.0.2.50"] * 3  # the header was not believed, not even in the audit trail


def test_behind_one_proxy_each_client_is_throttled_on_its_own_address(proxied):
    for user in ("editor-a", "auditor-a", "approver-a"):
        assert _sign_in(proxied, user, "sai-mat-khau", "198.51.100.7").status_code == 401
    assert _sign_in(proxied, "admin-a", PASSWORD, "198.51.100.7").status_code == 429
    # The throttled client cannot step around it by prepending an address: the proxy appends the real one.
    assert _sign_in(proxied, "admin-a", PASSWORD, "203.0.113.9, 198.51.100.7").status_code == 429
    # Another client behind the same proxy signs in: one attacker does not lock everybody out.
    r = _sign_in(proxied, "admin-a", PASSWORD, "198.51.100.8")
    assert r.status_code == 200 and r.json["user"]["username"] == "admin-a"
    assert _failed_from(proxied) == ["198.51.100.7"] * 3
    logins = proxied.controller.audit.entries(action="login")
    assert [e.ip for e in logins] == ["198.51.100.8"]


def _enroll(world: World, forwarded_for: str, peer: str = PROXY) -> int:
    return world.client().post("/api/enroll", json={"code": "KHONG-DUNG"}, headers={"X-Forwarded-For": forwarded_for},
                               environ_base={"REMOTE_ADDR": peer}).status_code


def test_enrollment_attempts_are_limited_per_client_behind_the_proxy_and_per_peer_without_one(direct, proxied):
    assert [_enroll(proxied, "198.51.100.7") for _ in range(3)][-1] == 429
    assert _enroll(proxied, "198.51.100.8") not in (429, 500)  # a wrong code, but not throttled
    assert [_enroll(direct, f"203.0.113.{n}", peer="192.0.2.50") for n in range(3)][-1] == 429


# -- over real HTTP: waitress, as `loaxa controller` runs it ----------------------------------
class _Server:
    """The world's app served by waitress on a free port, as ``web.serve`` configures it."""

    def __init__(self, world: World):
        settings = dataclasses.replace(world.controller.config.http, host="127.0.0.1", port=0)
        self.server = http_server(world.app, settings)
        self.port = self.server.effective_port
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.server.run()
        except (OSError, ValueError):  # closed under it
            pass

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def sign_in(self, username: str, password: str, headers: dict[str, str]) -> tuple[int, str]:
        """(status, Set-Cookie of the sign-in) for one attempt from a fresh session."""
        _, h, body = self.request("GET", "/api/session", headers=headers)
        cookie = h["Set-Cookie"].split(";")[0]
        csrf = json.loads(body)["csrf_token"]
        status, h, _ = self.request("POST", "/api/login", {"username": username, "password": password},
                                    {**headers, "Cookie": cookie, "X-CSRF-Token": csrf})
        return status, h.get("Set-Cookie", "")

    def close(self) -> None:
        self.server.close()
        self.thread.join(timeout=10)


@pytest.mark.parametrize("trusted", [False, True])
def test_over_http_the_forwarded_headers_count_only_from_a_trusted_proxy(direct, proxied, trusted):
    world = proxied if trusted else direct
    server = _Server(world)
    try:
        forwarded = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
        status, cookie = server.sign_in("editor-a", "sai-mat-khau", forwarded)
        assert status == 401
        status, cookie = server.sign_in("editor-a", PASSWORD, forwarded)
        assert status == 200 and "HttpOnly" in cookie
        # public_url is plain http: only a believed X-Forwarded-Proto makes the cookie Secure.
        assert ("Secure" in cookie) is trusted
        assert _failed_from(world) == ["198.51.100.7" if trusted else "127.0.0.1"]
        status, cookie = server.sign_in("auditor-a", PASSWORD, {})
        assert status == 200 and "Secure" not in cookie
    finally:
        server.close()


def test_a_negative_number_of_proxies_is_explained():
    from controller.config import ControllerConfig
    from loaxa.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="http.trusted_proxies must be 0"):
        load_config(ControllerConfig, env={"LOAXA_HTTP_TRUSTED_PROXIES": "-1"})
