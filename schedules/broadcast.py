"""A broadcast: what plays (an id and a duration), where (tree targets), when (a rule), how urgently.

Priorities are the wire protocol's three levels (Circular 39/2020/TT-BTTTT): ``normal`` is
scheduled by the commune, ``priority`` goes first within a programme, ``emergency``
interrupts whatever plays.  The commune's chosen ``order`` breaks ties within a level.

An :class:`Override` is the recorded, named exception to a guardrail ("đọc thông báo khẩn
của huyện lúc 22:30"): it travels with the broadcast so the plan expansion honours it on
every re-expansion and the audit can show who lifted which rule and why.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping

from loaxa.protocol import PRIORITIES, PRIORITY_RANK
from schedules.errors import ScheduleInputError
from schedules.rules import BroadcastRule
from schedules.timeutil import require_aware

BROADCAST_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$")
MAX_DURATION_S = 4 * 3600.0
MAX_SLOT_RUN_S = 6 * 3600.0
MIN_REASON_CHARS = 5

QUIET_HOURS = "quiet_hours"
CAP_PROGRAMMES_PER_DAY = "cap_programmes_per_day"
CAP_MINUTES_PER_PROGRAMME = "cap_minutes_per_programme"
WEEKEND = "weekend"
IN_THE_PAST = "in_the_past"
OVERLAP = "overlap"
NO_OCCURRENCES = "no_occurrences"
LIFTABLE = frozenset({QUIET_HOURS, CAP_PROGRAMMES_PER_DAY, CAP_MINUTES_PER_PROGRAMME, WEEKEND})

PRIORITY_NAMES_VI = {"normal": "thường", "priority": "ưu tiên", "emergency": "khẩn cấp"}


@dataclass(frozen=True)
class Override:
    """A named person's recorded decision to lift some guardrails for one broadcast.

    By default it lifts quiet hours only.  It may also lift the caps or the weekend rule when
    those are named in ``lifts``; it can never lift ``in_the_past`` or ``overlap``, which are
    not policies but impossibilities.
    """

    by: str
    reason: str
    lifts: frozenset[str] = frozenset({QUIET_HOURS})

    def __post_init__(self) -> None:
        if not isinstance(self.by, str) or not self.by.strip():
            raise ScheduleInputError("invalid_override", "Ngoại lệ phải ghi rõ người quyết định.", "override.by")
        if not isinstance(self.reason, str) or len(self.reason.strip()) < MIN_REASON_CHARS:
            raise ScheduleInputError(
                "invalid_override", f"Ngoại lệ phải ghi rõ lý do (ít nhất {MIN_REASON_CHARS} ký tự).", "override.reason"
            )
        lifts = frozenset(self.lifts) if isinstance(self.lifts, (set, frozenset, tuple, list)) else frozenset()
        if not lifts or not lifts <= LIFTABLE:
            raise ScheduleInputError(
                "invalid_override", f"Ngoại lệ chỉ áp dụng cho: {', '.join(sorted(LIFTABLE))}.", "override.lifts"
            )
        object.__setattr__(self, "by", self.by.strip())
        object.__setattr__(self, "reason", self.reason.strip())
        object.__setattr__(self, "lifts", lifts)

    def to_dict(self) -> dict[str, Any]:
        return {"by": self.by, "reason": self.reason, "lifts": sorted(self.lifts)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Override":
        if not isinstance(d, Mapping):
            raise ScheduleInputError("invalid_override", "Ngoại lệ phải là một đối tượng.", "override")
        return cls(by=d.get("by", ""), reason=d.get("reason", ""), lifts=frozenset(d.get("lifts", [QUIET_HOURS])))


@dataclass(frozen=True)
class Broadcast:
    """One scheduled bulletin: its id, timing rule, targets, content duration and priority."""

    id: str
    rule: BroadcastRule
    targets: frozenset[str]
    duration_s: float
    priority: str = "normal"
    order: int = 0
    override: Override | None = None
    title: str = field(default="", compare=False)
    # Seconds into its minute a one-off was entered at ("+90s", machines calling the API): rules
    # are whole minutes, but two such broadcasts in one minute play in the order of their seconds.
    second: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not BROADCAST_ID_RE.match(self.id):
            raise ScheduleInputError(
                "invalid_id", f"Mã lịch phát '{self.id}' không hợp lệ (chữ, số, '_', '.', '-'; tối đa 48 ký tự).", "id"
            )
        if not isinstance(self.rule, BroadcastRule):
            raise ScheduleInputError("invalid_rule", "Thiếu lịch phát.", "rule")
        targets = frozenset(self.targets) if isinstance(self.targets, (set, frozenset, tuple, list)) else frozenset()
        if not targets or not all(isinstance(t, str) for t in targets):
            raise ScheduleInputError("invalid_targets", "Cần chọn ít nhất một nơi phát.", "targets")
        object.__setattr__(self, "targets", targets)
        d = self.duration_s
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not 0 < d <= MAX_DURATION_S:
            raise ScheduleInputError("invalid_duration", "Độ dài bản tin phải lớn hơn 0 và không quá 4 giờ.", "duration_s")
        object.__setattr__(self, "duration_s", float(d))
        if self.run_s > MAX_SLOT_RUN_S:
            raise ScheduleInputError(
                "invalid_duration", "Tổng thời lượng các lần phát trong một buổi không được quá 6 giờ.", "repeats"
            )
        if self.priority not in PRIORITIES:
            raise ScheduleInputError("invalid_priority", "Mức ưu tiên phải là thường, ưu tiên hoặc khẩn cấp.", "priority")
        if isinstance(self.order, bool) or not isinstance(self.order, int):
            raise ScheduleInputError("invalid_order", "Thứ tự phát phải là số nguyên.", "order")
        if self.override is not None and not isinstance(self.override, Override):
            raise ScheduleInputError("invalid_override", "Ngoại lệ không hợp lệ.", "override")

    @property
    def rank(self) -> int:
        """Higher plays earlier: emergency 2, priority 1, normal 0."""
        return PRIORITY_RANK[self.priority]

    @property
    def run_s(self) -> float:
        """Seconds one occurrence takes on its own: every repeat plus the gaps between them."""
        return self.duration_s * self.rule.repeats + self.rule.repeat_gap.total_seconds() * (self.rule.repeats - 1)

    @property
    def label(self) -> str:
        """How messages name the broadcast: its title in quotes, else its id."""
        return f"«{self.title}»" if self.title else self.id

    @property
    def is_emergency(self) -> bool:
        return self.priority == "emergency"

    def lifts(self, code: str) -> bool:
        """Whether this broadcast is exempt from a guardrail: emergencies always, others by override."""
        return self.is_emergency or (self.override is not None and code in self.override.lifts)

    def not_before(self, instant: datetime) -> "Broadcast":
        """The same broadcast without the occurrences before ``instant``.

        Store a broadcast this way when it is approved: occurrences that were already past then
        never played, so they must not count towards the day's caps in later expansions.
        """
        start = require_aware(instant, "instant")
        if self.rule.valid_from is not None and self.rule.valid_from >= start:
            return self
        if self.rule.valid_until is not None and self.rule.valid_until <= start:
            raise ScheduleInputError(IN_THE_PAST, "Lịch phát đã hết hiệu lực.", "valid_until")
        return dataclasses.replace(self, rule=dataclasses.replace(self.rule, valid_from=start))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule.to_dict(),
            "targets": sorted(self.targets),
            "duration_s": self.duration_s,
            "priority": self.priority,
            "order": self.order,
            "override": self.override.to_dict() if self.override else None,
            "title": self.title,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Broadcast":
        if not isinstance(d, Mapping):
            raise ScheduleInputError("invalid_broadcast", "Lịch phát phải là một đối tượng.", "broadcast")
        targets: Iterable[str] = d.get("targets") or ()
        return cls(
            id=d.get("id", ""),
            rule=BroadcastRule.from_dict(d.get("rule")),  # type: ignore[arg-type]
            targets=frozenset(targets) if isinstance(targets, list) else frozenset(),
            duration_s=d.get("duration_s", 0),
            priority=d.get("priority", "normal"),
            order=d.get("order", 0),
            override=Override.from_dict(d["override"]) if d.get("override") else None,
            title=d.get("title", "") if isinstance(d.get("title", ""), str) else "",
        )
