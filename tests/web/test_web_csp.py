"""Finding 11 of the penetration test: no Content-Security-Policy.

Every answer now carries ``default-src 'self'``, so an injected script, style or ``on...=``
handler does nothing; that holds only while the pages themselves keep all code in
``web/static``.  The first test renders every page of the UI (as an administrator, in a
world with bulletins, broadcasts and devices) and refuses any inline script, ``<style>``
block, ``style=`` attribute, event-handler attribute or ``javascript:`` URL; a page added
later with a path parameter it does not know yet fails here until it gets a sample value.
The second drives the main pages in real Chromium and counts CSP violations.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from support.world import World, make_world, tomorrow_10h
from support.web_commune import PASSWORD, setup_commune
from web.auth import CONTENT_SECURITY_POLICY

# Sample values for the path parameters of UI pages (world ids in braces).
SAMPLES = {"device_id": "loa-a", "broadcast_id": "{broadcast}", "source_id": "vov1"}
NOT_PAGES = {"static", "metrics.metrics", "ui_media.media"}  # files and metrics, not HTML pages


class InlineCode(HTMLParser):
    """Collects whatever the Content-Security-Policy would refuse to run or apply."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._script_with_src = False
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {k.lower(): v or "" for k, v in attrs}
        if tag == "script":
            self._in_script = True
            self._script_with_src = bool(names.get("src"))
            if not self._script_with_src:
                self.found.append(f"inline <script> at line {self.getpos()[0]}")
        if tag == "style":
            self.found.append(f"<style> block at line {self.getpos()[0]}")
        for name, value in names.items():
            if name == "style":
                self.found.append(f"style= on <{tag}> at line {self.getpos()[0]}")
            elif name.startswith("on"):
                self.found.append(f"{name}= handler on <{tag}> at line {self.getpos()[0]}")
            elif name in ("href", "src", "action", "formaction") and value.strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL on <{tag}> at line {self.getpos()[0]}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and self._script_with_src and data.strip():
            self.found.append(f"code inside <script src> at line {self.getpos()[0]}")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    parser.close()
    return parser.found


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    w = make_world(tmp_path_factory.mktemp("csp"), plans_auto_approve="false")
    b = w.call("root", "POST", "/api/bulletins", {"title": "Tiêm phòng", "text": "Thông báo ngắn về tiêm phòng."}).json
    w.ids["bulletin"] = b["id"]
    pending = w.call("root", "POST", "/api/broadcasts",
                     {"bulletin_id": b["id"], "starts_at": tomorrow_10h(), "targets": ["xa-a"]}).json
    w.ids["broadcast"] = pending["id"]
    w.call("editor", "POST", "/api/broadcasts",
           {"bulletin_id": b["id"], "starts_at": tomorrow_10h(), "targets": ["thon-a"], "priority": "priority"})
    w.call("root", "POST", f"/api/broadcasts/{pending['id']}/approve", {})
    w.call("root", "POST", "/api/relay-sources", {"id": "vov1", "name": "VOV1", "url": "http://127.0.0.1:9/live.m3u8",
                                                  "kind": "hls"})
    yield w
    w.controller.stop()


def ui_pages(world: World) -> list[str]:
    paths, unknown = [], []
    for rule in world.app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith("/api/") or rule.endpoint in NOT_PAGES:
            continue
        if not rule.endpoint.startswith("ui_"):
            continue
        missing = [a for a in rule.arguments if a not in SAMPLES]
        if missing:
            unknown.append(f"{rule.rule}: add a sample for {missing} in SAMPLES")
            continue
        path = rule.rule
        for arg in rule.arguments:
            path = re.sub(rf"<(?:[a-z]+:)?{arg}>", SAMPLES[arg].format(**world.ids), path)
        paths.append(path)
    assert unknown == []
    return sorted(paths)


def test_every_page_keeps_its_scripts_and_styles_in_static_files(world):
    pages = ui_pages(world)
    assert {"/", "/compose", "/emergency", "/devices/loa-a", "/admin", "/login"} <= set(pages)
    found = {}
    for path in [p for p in pages if p != "/login"] + ["/no-such-page"]:  # signed in, /login only redirects
        r = world.call("root", "GET", path)
        assert r.status_code == (404 if path == "/no-such-page" else 200), (path, r.status_code)
        assert r.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        assert "text/html" in r.headers["Content-Type"], path
        if bad := inline_code(r.get_data(as_text=True)):
            found[path] = bad
    signed_out = world.client().get("/login")
    assert signed_out.status_code == 200
    if bad := inline_code(signed_out.get_data(as_text=True)):
        found["/login (signed out)"] = bad
    assert found == {}


def test_the_policy_is_on_every_answer_and_signed_in_answers_are_not_stored(world):
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY
    for who, path in ((None, "/login"), (None, "/api/session"), (None, "/static/loaxa.css"), ("root", "/api/devices"),
                      ("auditor", "/api/audit/logbook?format=csv"), ("root", "/")):
        r = world.call(who, "GET", path)
        assert r.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        if who is not None:
            assert r.headers["Cache-Control"] == "no-store", path


def test_the_checker_sees_what_the_policy_would_block():
    page = ('<p style="color:red" onclick="x()">a</p><script>alert(1)</script><style>p{}</style>'
            '<a href="javascript:go()">b</a><script src="/static/x.js">more()</script><script src="/static/y.js"></script>')
    assert len(inline_code(page)) == 6


# -- in Chromium: zero violations on the main pages ---------------------------------------------
MAIN_PAGES = ("/", "/compose", "/approvals", "/emergency", "/calendar", "/devices", "/devices/loa-1", "/audit",
              "/audit/compliance", "/audit/logbook", "/admin", "/alerts", "/dictionary", "/fleet",
              "/fleet/devices/loa-1")
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile + ":" + e.lineNumber);
});
"""


@pytest.mark.browser
def test_the_main_pages_run_in_chromium_without_a_single_policy_violation(system, sessions):
    commune = setup_commune(system)
    ctl = commune.ctl
    ctl.api.post("/api/users", {"username": "quantri", "password": PASSWORD, "role": "admin", "unit_id": "tinh"})
    admin = sessions(ctl.url, "quantri", PASSWORD)
    console: list[str] = []
    admin.page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    admin.context.add_init_script(RECORD_VIOLATIONS)
    violations: dict[str, list[str]] = {}
    for path in MAIN_PAGES:
        response = admin.go(path)
        assert response.status == 200, path
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
        admin.page.wait_for_load_state("load")
        if found := admin.page.evaluate("window.__cspViolations"):
            violations[path] = found
    admin.go("/devices/loa-1")  # the volume slider's read-out, once an inline handler, still follows it
    admin.page.eval_on_selector("#volume", "el => { el.value = '35'; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    assert admin.page.locator("#volume-out").inner_text() == "35"
    if found := admin.page.evaluate("window.__cspViolations"):
        violations["/devices/loa-1 (slider)"] = found
    assert violations == {}
    assert [m for m in console if "Content Security Policy" in m] == []
    assert admin.errors == []
