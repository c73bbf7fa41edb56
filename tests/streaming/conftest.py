"""Fixtures of the live-audio tests: a real Icecast2 on free ports."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.stream_rig import IcecastRig


@pytest.fixture
def icecast(tmp_path: Path):
    rig = IcecastRig(tmp_path).start()
    yield rig
    rig.stop()
