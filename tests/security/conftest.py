"""Fixtures of the device-security tests: a controller config with a real, secured mosquitto."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.secure_rig import SecureRig


@pytest.fixture
def secure(tmp_path: Path):
    rig = SecureRig(tmp_path)
    yield rig
    rig.close()


@pytest.fixture
def secure_tls(tmp_path: Path):
    rig = SecureRig(tmp_path, tls=True)
    yield rig
    rig.close()
