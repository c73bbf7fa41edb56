"""A broadcast's status and priority have one set of Vietnamese words, the controller's.

The pages' badge filter, an editor's work groups, the logbook and the relay refusals read
:mod:`controller.labels`; a status or priority added without its word fails here.
"""

from __future__ import annotations

from controller.labels import (
    BROADCAST_STATUS_VI,
    MY_WORK_GROUP_VI,
    PRIORITY_VI,
    broadcast_status_vi,
    priority_vi,
)
from controller.plans.broadcasts import STATUSES
from controller.plans.worklists import MY_GROUP_NAMES, MY_GROUPS
from loaxa.protocol import PRIORITIES
from web.ui_base import vi_label


def test_every_status_priority_and_work_group_has_its_word():
    assert set(BROADCAST_STATUS_VI) == set(STATUSES)
    assert set(PRIORITY_VI) == set(PRIORITIES)
    assert set(MY_WORK_GROUP_VI) == set(MY_GROUPS)
    assert MY_GROUP_NAMES is MY_WORK_GROUP_VI


def test_the_pages_show_the_controller_words():
    assert {s: vi_label(s) for s in STATUSES} == dict(BROADCAST_STATUS_VI)
    assert vi_label("offline") == "Mất kết nối"  # the filter still names the other states
    assert [priority_vi(p) for p in PRIORITIES] == ["Thường", "Ưu tiên", "Khẩn cấp"]


def test_a_status_in_a_sentence_is_in_lower_case_and_an_unknown_one_shows_as_it_is():
    assert [broadcast_status_vi(s, in_sentence=True) for s in ("draft", "pending_approval", "approved")] == [
        "bản nháp", "chờ duyệt", "đã duyệt"]
    assert broadcast_status_vi("archived") == "archived"
    assert priority_vi("loud") == "loud"
