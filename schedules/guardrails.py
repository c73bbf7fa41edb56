"""Guardrails: quiet hours, caps and the weekend rule, set per unit and inherited down the tree.

A commune's speakers once blared at 03:15 because a relay time was mis-set; quiet hours make
that impossible without a recorded override.  Caps follow provincial rules (Hanoi's urban
communes: 2 programmes a day of 15 minutes; elsewhere commonly 3 × 45 minutes).

Settings live on units as *partial* mappings (only what that unit changes).  The effective
guardrails of a unit are the base values with every ancestor's overrides applied from the
root down, then the unit's own, so a village inherits what its commune and province set
unless it says otherwise.  In an override mapping a key that is absent is inherited, while a
key set to ``None`` means "no cap" (or, for the weekend caps, "same as on weekdays").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Mapping

from schedules.errors import ScheduleInputError
from schedules.timeutil import to_local
from schedules.tree import AdminTree
from schedules.date_phrases_vi import EVERY_DAY, parse_time_vi, parse_weekday_vi, parse_weekdays_vi, weekday_vi

MAX_PROGRAMMES_PER_DAY = 48
MAX_MINUTES_PER_PROGRAMME = 24 * 60.0
_DAY_S = 86400


@dataclass(frozen=True)
class Guardrails:
    """The effective rules for one unit's devices.  Build variations with :meth:`with_overrides`."""

    quiet_start: time = time(22, 0)
    quiet_end: time = time(5, 0)
    max_programmes_per_day: int | None = 3
    max_minutes_per_programme: float | None = 45.0
    weekend_days: frozenset[int] = frozenset({5, 6})
    weekend_normal_allowed: bool = True
    weekend_max_programmes_per_day: int | None = None
    weekend_max_minutes_per_programme: float | None = None

    def with_overrides(self, values: Mapping[str, Any]) -> "Guardrails":
        """A copy with some settings changed; values are validated and may be text (``"22:00"``)."""
        if not isinstance(values, Mapping):
            raise ScheduleInputError("invalid_guardrail", "Cấu hình giới hạn phải là một bảng khóa → giá trị.", "guardrails")
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ScheduleInputError(
                "invalid_guardrail", f"Không có thiết lập {', '.join(unknown)} (có: {', '.join(sorted(known))}).", unknown[0]
            )
        return dataclasses.replace(self, **{k: _convert(k, v) for k, v in values.items()})

    # --- per-day questions -----------------------------------------------------------

    def is_weekend(self, day: date) -> bool:
        return day.weekday() in self.weekend_days

    def programmes_cap(self, day: date) -> int | None:
        if self.is_weekend(day) and self.weekend_max_programmes_per_day is not None:
            return self.weekend_max_programmes_per_day
        return self.max_programmes_per_day

    def minutes_cap(self, day: date) -> float | None:
        if self.is_weekend(day) and self.weekend_max_minutes_per_programme is not None:
            return self.weekend_max_minutes_per_programme
        return self.max_minutes_per_programme

    def normal_allowed(self, day: date) -> bool:
        return self.weekend_normal_allowed or not self.is_weekend(day)

    @property
    def has_quiet_hours(self) -> bool:
        return self.quiet_start != self.quiet_end

    def in_quiet_hours(self, start: datetime, end: datetime) -> bool:
        """Whether any instant of ``[start, end)`` falls in quiet hours (which may cross midnight).

        Works on seconds since local midnight with 24-hour days, which holds for
        Asia/Ho_Chi_Minh (no daylight saving time since 1975); this runs for every planned item.
        """
        if self.quiet_start == self.quiet_end:
            return False
        local = to_local(start)
        at = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        quiet_start = self.quiet_start.hour * 3600 + self.quiet_start.minute * 60
        quiet_length = (self.quiet_end.hour * 3600 + self.quiet_end.minute * 60 - quiet_start) % _DAY_S
        since_quiet_start = (at - quiet_start) % _DAY_S
        duration = max((end - start).total_seconds(), 1e-6)
        return since_quiet_start < quiet_length or _DAY_S - since_quiet_start < duration

    # --- descriptions for refusals -----------------------------------------------------

    def quiet_vi(self) -> str:
        return f"{self.quiet_start:%H:%M}–{self.quiet_end:%H:%M}"

    def weekend_vi(self) -> str:
        return ", ".join(weekday_vi(d) for d in sorted(self.weekend_days)) or "không có"


def _convert(name: str, value: Any) -> Any:
    def bad(what: str) -> ScheduleInputError:
        return ScheduleInputError("invalid_guardrail", f"Thiết lập '{name}': {what}, nhận được {value!r}.", name)

    if name in ("quiet_start", "quiet_end"):
        if isinstance(value, time):
            return value.replace(second=0, microsecond=0, tzinfo=None)
        if isinstance(value, str):
            return parse_time_vi(value)
        raise bad("cần giờ dạng 22:00")
    if name in ("max_programmes_per_day", "weekend_max_programmes_per_day"):
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PROGRAMMES_PER_DAY:
            raise bad(f"cần số nguyên từ 0 đến {MAX_PROGRAMMES_PER_DAY}")
        return value
    if name in ("max_minutes_per_programme", "weekend_max_minutes_per_programme"):
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_MINUTES_PER_PROGRAMME:
            raise bad("cần số phút lớn hơn 0")
        return float(value)
    if name == "weekend_days":
        if isinstance(value, str):
            return parse_weekdays_vi(value) if value.strip() else frozenset()
        if isinstance(value, (list, tuple, set, frozenset)):
            days = frozenset(parse_weekday_vi(v) for v in value)
            if days <= EVERY_DAY:
                return days
        raise bad("cần danh sách thứ (0 = Thứ 2 … 6 = Chủ nhật)")
    if name == "weekend_normal_allowed":
        if isinstance(value, bool):
            return value
        raise bad("cần true hoặc false")
    raise bad("không dùng được")  # pragma: no cover - names are checked before


@dataclass(frozen=True)
class GuardrailPolicy:
    """Base guardrails plus per-unit partial overrides, validated once when built."""

    base: Guardrails = field(default_factory=Guardrails)
    overrides_by_unit: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.overrides_by_unit, Mapping):
            raise ScheduleInputError("invalid_guardrail", "Cấu hình giới hạn theo đơn vị không hợp lệ.", "guardrails")
        for unit_id, values in self.overrides_by_unit.items():
            try:
                self.base.with_overrides(values)
            except ScheduleInputError as exc:
                raise ScheduleInputError(exc.code, f"Đơn vị '{unit_id}': {exc.message}", exc.field) from None
        frozen = {u: dict(v) for u, v in self.overrides_by_unit.items()}
        object.__setattr__(self, "overrides_by_unit", frozen)

    def for_unit(self, tree: AdminTree, unit_id: str) -> Guardrails:
        """See :func:`effective_guardrails`."""
        return effective_guardrails(tree, unit_id, self.overrides_by_unit, self.base)

    def for_device(self, tree: AdminTree, device_id: str) -> Guardrails:
        return self.for_unit(tree, tree.device(device_id).unit_id)


def effective_guardrails(
    tree: AdminTree,
    unit_id: str,
    overrides_by_unit: Mapping[str, Mapping[str, Any]],
    base: Guardrails | None = None,
) -> Guardrails:
    """The guardrails in force for ``unit_id``: base, then overrides from the root down to the unit."""
    chain = (unit_id, *tree.ancestors(unit_id))
    result = base or Guardrails()
    for uid in reversed(chain):
        values = overrides_by_unit.get(uid)
        if values:
            result = result.with_overrides(values)
    return result
