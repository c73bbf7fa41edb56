"""Fixtures of the scheduling tests: the tree of ``support.schedule_builders`` and Hanoi's urban caps."""

from __future__ import annotations

import pytest

from support.schedule_builders import DEVICES, HANOI_URBAN, UNITS
from schedules.guardrails import GuardrailPolicy
from schedules.tree import AdminTree


@pytest.fixture
def tree() -> AdminTree:
    return AdminTree(UNITS, DEVICES)


@pytest.fixture
def policy() -> GuardrailPolicy:
    return GuardrailPolicy(overrides_by_unit={"hn-phuong-a": HANOI_URBAN})
