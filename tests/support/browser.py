"""Headless Chromium for the web tests: launch, viewports, a served app, and a signed-in browser session."""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from support.harness import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def fake_microphone(wav: Path) -> list[str]:
    """Chromium's fake capture device reading ``wav``, granted without a prompt; audio plays without a tap."""
    return ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}", "--autoplay-policy=no-user-gesture-required"]


@contextmanager
def chromium(*extra_args: str) -> Iterator:
    """Debian's headless Chromium through Playwright (it cannot download one here); skips when absent."""
    import pytest

    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (scripts/install-system-deps.sh --test)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()


class ServedApp:
    """An in-process Flask app served over real HTTP on a free loopback port, for the browser to open."""

    def __init__(self, app):
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="served-app", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_js(page, expression: str, arg=None, timeout: float = 20.0, what: str = ""):
    """Wait until a JavaScript expression (or a one-argument function given ``arg``) is truthy.

    Playwright's ``wait_for_function`` builds its predicate with ``eval`` inside the page,
    which the Content-Security-Policy (no ``unsafe-eval``) refuses; ``page.evaluate`` runs
    through the DevTools protocol, outside the page's policy.  Polled, with a bound.
    """
    from support.harness import wait_for

    return wait_for(lambda: page.evaluate(expression, arg) if arg is not None else page.evaluate(expression),
                    timeout=timeout, interval=0.1, what=what or expression)


class Session:
    """One signed-in person in their own browser context (own cookies), at phone or desktop size."""

    def __init__(self, browser, base_url: str, username: str, password: str, viewport: dict | None = None):
        self.base_url = base_url
        self.context = browser.new_context(viewport=viewport or DESKTOP, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                           accept_downloads=True)
        self.context.set_default_timeout(20_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.goto(base_url + "/login")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(re.compile(r".*/$"))

    def go(self, path: str):
        response = self.page.goto(self.base_url + path)
        return response

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        width = self.page.viewport_size["width"]
        path = SCREENSHOTS / f"{name}-{'phone' if width < 500 else 'desktop'}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def overflow(self) -> int:
        """How many CSS pixels the page is wider than the viewport (0 when nothing overflows)."""
        return self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")

    def close(self) -> None:
        self.context.close()
