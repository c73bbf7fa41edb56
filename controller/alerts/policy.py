"""What happens to an alert in a unit: air by itself, wait for approval (with or without a countdown), or not.

Policies are set on units and inherited down the tree: a commune without its own policy uses
its district's, then its province's, then :data:`DEFAULT_POLICY` (everything waits, no
countdown).  Within a policy the first matching rule decides.  Some things no rule can
change: only ``Actual`` alerts air (Exercise and Test go to the test path), only ``Public``
ones, and an alert without Vietnamese text is a draft for an official to approve.

The risk level is Decision 18/2021/QĐ-TTg's (1-5, with its colour), read from the alert's
parameters; it is never derived from CAP ``severity``.  Every decision carries the rule that
made it, in Vietnamese, for the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from controller.alerts.cap import Alert, Info
from controller.errors import InputError
from schedules.tree import AdminTree

AUTO, QUEUE, DRAFT, TEST, IGNORE = "auto", "queue", "draft", "test", "ignore"
ACTIONS = (AUTO, QUEUE, IGNORE)

RISK_LEVELS: dict[int, tuple[str, str]] = {
    1: ("xanh nhạt", "thấp"),
    2: ("vàng nhạt", "trung bình"),
    3: ("da cam", "lớn"),
    4: ("đỏ", "rất lớn"),
    5: ("tím", "thảm họa"),
}
RISK_PARAMETER_NAMES = ("riskLevel", "capDoRuiRo", "cap_do_rui_ro", "capdoruiro")

SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")


def risk_level(info: Info) -> int | None:
    """The QĐ 18/2021 level the sender published with the warning, or None."""
    value = info.parameter(*RISK_PARAMETER_NAMES)
    if value is None:
        return None
    digits = "".join(ch for ch in value if ch.isdigit())
    level = int(digits) if digits else 0
    return level if level in RISK_LEVELS else None


def describe_risk(level: int | None) -> str:
    if level is None:
        return "chưa công bố cấp độ rủi ro"
    colour, meaning = RISK_LEVELS[level]
    return f"cấp độ rủi ro {level} (màu {colour}, rủi ro {meaning})"


@dataclass(frozen=True)
class Rule:
    """One line of a policy: empty criteria match anything."""

    name: str
    action: str
    countdown_min: int | None = None
    events: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    urgencies: tuple[str, ...] = ()
    risk_levels: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise InputError("policy_bad_action", f"Hành động '{self.action}' không hợp lệ (auto, queue, ignore).", "action")
        if self.countdown_min is not None and (self.action != QUEUE or not 1 <= self.countdown_min <= 240):
            raise InputError("policy_bad_countdown", "Đếm ngược chỉ dùng cho 'queue', từ 1 đến 240 phút.", "countdown_min")
        if any(s not in SEVERITIES for s in self.severities) or any(u not in URGENCIES for u in self.urgencies):
            raise InputError("policy_bad_criteria", "Mức nghiêm trọng hoặc mức khẩn cấp không hợp lệ.", "rules")
        if any(r not in RISK_LEVELS for r in self.risk_levels):
            raise InputError("policy_bad_risk", "Cấp độ rủi ro phải từ 1 đến 5.", "risk_levels")

    def matches(self, info: Info, level: int | None) -> bool:
        events = {e.lower() for e in self.events}
        names = {info.event.lower(), *(c.value.lower() for c in info.event_codes)}
        return ((not events or bool(events & names))
                and (not self.severities or info.severity in self.severities)
                and (not self.urgencies or info.urgency in self.urgencies)
                and (not self.risk_levels or level in self.risk_levels))

    def describe(self) -> str:
        parts = [f"quy tắc '{self.name}'"]
        if self.events:
            parts.append("loại " + ", ".join(self.events))
        if self.severities:
            parts.append("mức nghiêm trọng " + ", ".join(self.severities))
        if self.urgencies:
            parts.append("mức khẩn " + ", ".join(self.urgencies))
        if self.risk_levels:
            parts.append("cấp độ rủi ro " + ", ".join(map(str, self.risk_levels)))
        return "; ".join(parts)


@dataclass(frozen=True)
class AlertPolicy:
    rules: tuple[Rule, ...] = ()
    default_action: str = QUEUE
    repeat_every_min: int = 30
    quiet_override_levels: tuple[int, ...] = (4, 5)
    all_clear_on_cancel: bool = True
    max_lifetime_h: int = 24

    def __post_init__(self) -> None:
        if self.default_action not in ACTIONS:
            raise InputError("policy_bad_action", "Hành động mặc định không hợp lệ.", "default_action")
        if not 5 <= self.repeat_every_min <= 24 * 60:
            raise InputError("policy_bad_repeat", "Chu kỳ phát lại phải từ 5 phút đến 24 giờ.", "repeat_every_min")
        if any(r not in RISK_LEVELS for r in self.quiet_override_levels):
            raise InputError("policy_bad_risk", "Cấp độ rủi ro phải từ 1 đến 5.", "quiet_override_levels")
        if not 1 <= self.max_lifetime_h <= 168:
            raise InputError("policy_bad_lifetime", "Thời hạn tối đa phải từ 1 đến 168 giờ.", "max_lifetime_h")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "AlertPolicy":
        """Build from TOML/JSON data; unknown keys are refused so a typo never silently auto-airs."""
        if not isinstance(data, Mapping):
            raise InputError("policy_bad", "Chính sách cảnh báo phải là một bảng.", "policy")
        allowed = {"rules", "default_action", "repeat_every_min", "quiet_override_levels", "all_clear_on_cancel",
                   "max_lifetime_h"}
        if unknown := set(data) - allowed:
            raise InputError("policy_unknown_key", f"Khoá không hợp lệ trong chính sách: {', '.join(sorted(unknown))}.",
                             "policy")
        rule_keys = {"name", "action", "countdown_min", "events", "severities", "urgencies", "risk_levels"}
        rules = []
        for n, r in enumerate(data.get("rules", []), 1):
            if not isinstance(r, Mapping) or set(r) - rule_keys or "action" not in r:
                raise InputError("policy_bad_rule", f"Quy tắc {n} không hợp lệ.", "rules")
            rules.append(Rule(name=str(r.get("name", f"quy tắc {n}")), action=r["action"],
                              countdown_min=r.get("countdown_min"), events=tuple(r.get("events", ())),
                              severities=tuple(r.get("severities", ())), urgencies=tuple(r.get("urgencies", ())),
                              risk_levels=tuple(r.get("risk_levels", ()))))
        kwargs = {k: data[k] for k in allowed - {"rules"} if k in data}
        if "quiet_override_levels" in kwargs:
            kwargs["quiet_override_levels"] = tuple(kwargs["quiet_override_levels"])
        return cls(rules=tuple(rules), **kwargs)


DEFAULT_POLICY = AlertPolicy()


@dataclass(frozen=True)
class Decision:
    action: str
    rule: str
    policy_unit: str | None
    countdown_min: int | None = None
    quiet_override: bool = False
    repeat_every_min: int = DEFAULT_POLICY.repeat_every_min
    all_clear_on_cancel: bool = True


def effective_policy(unit_id: str, policies: Mapping[str, AlertPolicy], tree: AdminTree) -> tuple[str | None, AlertPolicy]:
    """The nearest policy at or above ``unit_id``, and the unit it was set on."""
    for uid in (unit_id, *tree.ancestors(unit_id)):
        if uid in policies:
            return uid, policies[uid]
    return None, DEFAULT_POLICY


def decide(alert: Alert, info: Info, unit_id: str, policies: Mapping[str, AlertPolicy], tree: AdminTree) -> Decision:
    where, policy = effective_policy(unit_id, policies, tree)
    level = risk_level(info)

    def made(action: str, rule: str, countdown: int | None = None) -> Decision:
        return Decision(action, rule, where, countdown, level in policy.quiet_override_levels and action == AUTO,
                        policy.repeat_every_min, policy.all_clear_on_cancel)

    if alert.status in ("Exercise", "Test"):
        return made(TEST, f"trạng thái {alert.status}: chỉ vào kênh thử, không phát thật")
    if alert.status != "Actual":
        return made(IGNORE, f"trạng thái {alert.status}: không phát")
    if alert.scope != "Public":
        return made(IGNORE, f"phạm vi {alert.scope}: không dành cho công chúng")
    if alert.msg_type not in ("Alert", "Update"):
        return made(IGNORE, f"loại bản tin {alert.msg_type}: không phát")
    if not info.is_vietnamese:
        return made(DRAFT, f"bản tin bằng tiếng '{info.language}': tạo bản nháp tiếng Việt để cán bộ duyệt, không tự phát")
    for rule in policy.rules:
        if rule.matches(info, level):
            return made(rule.action, rule.describe(), rule.countdown_min)
    return made(policy.default_action, "không quy tắc nào khớp: dùng hành động mặc định")
