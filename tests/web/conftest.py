"""Browser fixtures: one headless Chromium per module (Debian's, Playwright cannot download one here)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from support.browser import CHROMIUM, CHROMIUM_ARGS, Session


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (scripts/install-system-deps.sh --test)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def sessions(browser) -> Iterator:
    opened: list[Session] = []

    def open_session(base_url: str, username: str, password: str, viewport: dict | None = None) -> Session:
        s = Session(browser, base_url, username, password, viewport)
        opened.append(s)
        return s

    yield open_session
    for s in opened:
        s.close()
