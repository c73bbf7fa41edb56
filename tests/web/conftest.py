"""Browser fixtures: one headless Chromium per module (Debian's, Playwright cannot download one here)."""

from __future__ import annotations

from typing import Iterator

import pytest

from support.browser import Session, chromium


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chromium() as b:
        yield b


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
