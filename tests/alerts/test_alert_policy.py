"""Policy inherited down the tree, the decisions it takes and the rule each names; the Vietnamese script."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from support.cap_docs import OASIS, son_ha_tree, vi_alert
from controller.alerts.cap import parse_alert
from controller.alerts.policy import (AUTO, DRAFT, IGNORE, QUEUE, TEST, AlertPolicy, Rule, decide,
                                      effective_policy, risk_level)
from controller.alerts.script import all_clear_script, alert_script, choose_info
from controller.errors import InputError

SENT = datetime(2026, 9, 6, 1, 30, tzinfo=timezone.utc)  # 08:30 in Vietnam

PROVINCE = AlertPolicy(rules=(
    Rule("bão cấp 4-5 tự phát", AUTO, events=("Bão",), risk_levels=(4, 5)),
    Rule("mưa lớn chờ 10 phút", QUEUE, countdown_min=10, events=("Mưa lớn",)),
), repeat_every_min=30, quiet_override_levels=(5,))
COMMUNE = AlertPolicy(rules=(Rule("xã duyệt tất cả", QUEUE),), repeat_every_min=60)


@pytest.fixture(scope="module")
def tree():
    return son_ha_tree()


def alert(**kw):
    a = parse_alert(vi_alert("SH-P", sent=SENT, expires=SENT + timedelta(hours=6), **kw))
    return a, a.infos[0]


def test_policy_is_inherited_down_the_tree_nearest_wins(tree):
    policies = {"tinh-son-ha": PROVINCE, "xa-dong-son": COMMUNE}
    assert effective_policy("xa-tan-lap", policies, tree) == ("tinh-son-ha", PROVINCE)
    assert effective_policy("xa-dong-son", policies, tree) == ("xa-dong-son", COMMUNE)
    assert effective_policy("xa-tan-lap", {}, tree)[0] is None


def test_storm_at_level_4_airs_by_itself_with_its_rule_named(tree):
    a, info = alert(risk=4)
    d = decide(a, info, "xa-tan-lap", {"tinh-son-ha": PROVINCE}, tree)
    assert d.action == AUTO and d.policy_unit == "tinh-son-ha" and d.repeat_every_min == 30
    assert "bão cấp 4-5 tự phát" in d.rule and "cấp độ rủi ro 4, 5" in d.rule
    assert not d.quiet_override  # the policy names level 5 only


def test_quiet_hours_are_overridden_only_for_the_levels_named(tree):
    a, info = alert(risk=5)
    assert decide(a, info, "xa-tan-lap", {"tinh-son-ha": PROVINCE}, tree).quiet_override


def test_countdown_queue_and_commune_override(tree):
    a, info = alert(event="Mưa lớn", risk=2)
    d = decide(a, info, "xa-tan-lap", {"tinh-son-ha": PROVINCE}, tree)
    assert (d.action, d.countdown_min) == (QUEUE, 10)
    a, info = alert(risk=5)
    d = decide(a, info, "xa-dong-son", {"tinh-son-ha": PROVINCE, "xa-dong-son": COMMUNE}, tree)
    assert (d.action, d.countdown_min, d.policy_unit) == (QUEUE, None, "xa-dong-son")


def test_no_rule_means_the_default_wait_without_countdown(tree):
    a, info = alert(event="Sương mù", risk=1)
    d = decide(a, info, "xa-tan-lap", {"tinh-son-ha": PROVINCE}, tree)
    assert (d.action, d.countdown_min) == (QUEUE, None) and "mặc định" in d.rule


@pytest.mark.parametrize("kw, action", [
    ({"status": "Exercise"}, TEST), ({"status": "Test"}, TEST), ({"status": "System"}, IGNORE),
    ({"scope": "Restricted"}, IGNORE), ({"language": "en-US"}, DRAFT),
])
def test_only_actual_public_vietnamese_alerts_can_air_by_themselves(tree, kw, action):
    a, info = alert(risk=5, **kw)
    d = decide(a, info, "xa-tan-lap", {"tinh-son-ha": PROVINCE}, tree)
    assert d.action == action and d.rule


def test_risk_level_is_read_not_derived_from_severity():
    _, info = alert(risk=None, severity="Extreme")
    assert risk_level(info) is None
    _, info = alert(risk=3)
    assert risk_level(info) == 3


def test_policy_from_data_refuses_typos_and_bad_values():
    p = AlertPolicy.from_dict({"repeat_every_min": 30, "rules": [{"name": "x", "action": "auto", "risk_levels": [5]}]})
    assert p.rules[0].risk_levels == (5,)
    for bad in ({"repat_every_min": 30}, {"rules": [{"action": "play"}]}, {"repeat_every_min": 1},
                {"rules": [{"action": "auto", "countdown_min": 5}]}, {"rules": [{"action": "auto", "risk_levels": [6]}]}):
        with pytest.raises(InputError):
            AlertPolicy.from_dict(bad)


def test_vietnamese_info_is_read_as_written_and_restates_the_time_of_issue():
    a, info = alert(risk=4)
    s = alert_script(a, info, ["xã Tân Lập"])
    assert not s.draft
    assert s.text.startswith("Cảnh báo Bão. Bão số 3 đổ bộ. Khu vực ảnh hưởng: xã Tân Lập.")
    assert "Cấp độ rủi ro 4 (màu đỏ, rủi ro rất lớn)." in s.text
    assert "gió mạnh cấp 10" in s.text and "không ra khơi" in s.text
    assert s.text.endswith("Bản tin phát hành lúc 8 giờ 30 phút ngày 6 tháng 9 năm 2026.")


def test_english_source_gets_a_vietnamese_template_draft():
    a2 = parse_alert(next(p for p in OASIS if p.name.startswith("a2")).read_bytes())
    s = alert_script(a2, choose_info(a2), ["xã Tân Lập"])
    assert s.draft and "THUNDERSTORM" not in s.text.replace(s.title, "")
    assert s.text.startswith("Cảnh báo dông, lốc, sét. Khu vực ảnh hưởng: xã Tân Lập.")
    assert "Bản tin phát hành lúc 4 giờ 57 phút ngày 18 tháng 6 năm 2003." in s.text  # 14:57 PDT = 04:57 in Vietnam


def test_vietnamese_block_is_preferred_over_english():
    doc = vi_alert("SH-2L", sent=SENT, expires=None, language="en-US", event="Typhoon")
    en_info = doc[doc.index(b"<info>"):doc.index(b"</info>") + 7]
    vi_info = vi_alert("x", sent=SENT, expires=None)
    vi_info = vi_info[vi_info.index(b"<info>"):vi_info.index(b"</info>") + 7]
    both = doc.replace(en_info, en_info + vi_info)
    a = parse_alert(both)
    assert len(a.infos) == 2 and choose_info(a).language == "vi-VN"


def test_all_clear_names_the_event_and_the_time_of_the_cancelled_warning():
    a, info = alert()
    s = all_clear_script(a, info, ["xã Tân Lập", "xã Đông Sơn"])
    assert s.text == ("Thông báo kết thúc cảnh báo Bão cho xã Tân Lập, xã Đông Sơn. Cảnh báo phát hành lúc "
                      "8 giờ 30 phút ngày 6 tháng 9 năm 2026 đã được cơ quan ban hành hủy bỏ.")
