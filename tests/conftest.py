"""Shared fixtures: a real mosquitto per test, and the process factory of ``support.harness``."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.devtools.broker_runner import Broker
from support.harness import System


@pytest.fixture
def broker(tmp_path: Path):
    b = Broker(tmp_path / "broker").start()
    yield b
    b.stop()


@pytest.fixture
def system(tmp_path: Path, broker: Broker):
    s = System(tmp_path, broker)
    yield s
    s.close()
