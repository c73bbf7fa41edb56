"""When a broadcast airs: one-off or recurring rules, entered in local time, expanded to UTC.

A rule is a set of local dates (``start_date`` … ``end_date``, both included, restricted to
``weekdays``) times a set of local slot times.  A one-off broadcast is the same thing with a
single date, so there is one code path and no special cases: :meth:`BroadcastRule.once` and
:meth:`BroadcastRule.recurring` only differ in what they accept.

Each (date, slot time) is an *occurrence*: the instant the broadcast's slot opens.  Within
that slot the content plays ``repeats`` times, ``repeat_gap`` apart (silence between the end
of one play and the start of the next); laying the plays out is the programme's job.

``valid_from`` / ``valid_until`` (UTC instants, ``valid_until`` excluded) clip occurrences,
for a bulletin that stops being true at a known moment.  All conversion goes through
:data:`schedules.timeutil.LOCAL_TZ`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable, Mapping

from schedules.errors import ScheduleInputError
from schedules.timeutil import day_span, format_date_vi, format_local_vi, local_date, local_instant, require_aware
from schedules.date_phrases_vi import (
    EVERY_DAY,
    parse_date_vi,
    parse_time_vi,
    parse_weekday_vi,
    rule_parts_vi,
    weekday_vi,
    weekdays_in_vi,
)

MAX_SPAN_DAYS = 366
MAX_REPEATS = 20
MAX_SLOTS_PER_DAY = 24
MAX_REPEAT_GAP = timedelta(hours=1)


def _err(code: str, message: str, field_name: str) -> ScheduleInputError:
    return ScheduleInputError(code, message, field_name)


@dataclass(frozen=True)
class BroadcastRule:
    """When a broadcast airs, in local dates and wall-clock times.  Validated on creation."""

    start_date: date
    end_date: date
    slot_times: tuple[time, ...]
    weekdays: frozenset[int] = EVERY_DAY
    repeats: int = 1
    repeat_gap: timedelta = timedelta(0)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    # Occurrences (slot openings, aware instants) cancelled one by one; the rest still air.
    cancelled: frozenset[datetime] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.start_date, date) or isinstance(self.start_date, datetime):
            raise _err("invalid_date", "Ngày bắt đầu không hợp lệ.", "start_date")
        if not isinstance(self.end_date, date) or isinstance(self.end_date, datetime):
            raise _err("invalid_date", "Ngày kết thúc không hợp lệ.", "end_date")
        if self.end_date < self.start_date:
            raise _err("invalid_date_range", "Ngày kết thúc phải sau hoặc bằng ngày bắt đầu.", "end_date")
        if (self.end_date - self.start_date).days >= MAX_SPAN_DAYS:
            raise _err("invalid_date_range", f"Một lịch phát kéo dài tối đa {MAX_SPAN_DAYS} ngày.", "end_date")
        slots = tuple(sorted(set(self.slot_times))) if isinstance(self.slot_times, (tuple, list, set, frozenset)) else ()
        if not slots or not all(isinstance(t, time) for t in slots):
            raise _err("invalid_time", "Cần ít nhất một giờ phát.", "slot_times")
        if len(slots) > MAX_SLOTS_PER_DAY:
            raise _err("invalid_time", f"Tối đa {MAX_SLOTS_PER_DAY} giờ phát mỗi ngày.", "slot_times")
        if any(t.tzinfo is not None or t.second or t.microsecond for t in slots):
            raise _err("invalid_time", "Giờ phát là giờ địa phương, tính đến phút (ví dụ 06:00).", "slot_times")
        object.__setattr__(self, "slot_times", slots)
        days = frozenset(self.weekdays) if isinstance(self.weekdays, (set, frozenset, tuple, list)) else None
        if not days or not days <= EVERY_DAY:
            raise _err("invalid_weekdays", "Cần chọn ít nhất một ngày trong tuần (0 = Thứ 2 … 6 = Chủ nhật).", "weekdays")
        object.__setattr__(self, "weekdays", days)
        if not isinstance(self.repeats, int) or isinstance(self.repeats, bool) or not 1 <= self.repeats <= MAX_REPEATS:
            raise _err("invalid_repeats", f"Số lần phát trong một buổi phải từ 1 đến {MAX_REPEATS}.", "repeats")
        if not isinstance(self.repeat_gap, timedelta) or not timedelta(0) <= self.repeat_gap <= MAX_REPEAT_GAP:
            raise _err("invalid_repeat_gap", "Khoảng nghỉ giữa các lần phát phải từ 0 đến 60 phút.", "repeat_gap")
        for name in ("valid_from", "valid_until"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, require_aware(value, name))
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise _err("invalid_validity", "Thời hạn hiệu lực kết thúc trước khi bắt đầu.", "valid_until")
        cancelled = self.cancelled if isinstance(self.cancelled, (set, frozenset, tuple, list)) else None
        if cancelled is None or not all(isinstance(t, datetime) for t in cancelled):
            raise _err("invalid_rule", "Danh sách buổi phát đã hủy không hợp lệ.", "cancelled")
        object.__setattr__(self, "cancelled", frozenset(require_aware(t, "cancelled") for t in cancelled))

    # --- building from what people type ------------------------------------------------

    @classmethod
    def once(cls, on: date | str, at: time | str | Iterable[time | str], **extra: Any) -> "BroadcastRule":
        """A one-off rule: ``once("07/9/2021", "17h30")``; ``at`` may list several times."""
        day = parse_date_vi(on) if isinstance(on, str) else on
        return cls(start_date=day, end_date=day, slot_times=_times(at), **extra)

    @classmethod
    def recurring(
        cls,
        start: date | str,
        end: date | str,
        at: time | str | Iterable[time | str],
        weekdays: Iterable[int | str] | str | None = None,
        **extra: Any,
    ) -> "BroadcastRule":
        """Daily (``weekdays=None``) or on chosen weekdays (ints 0 = Monday, or "Thứ 2" … "Chủ nhật")."""
        end_day = parse_date_vi(end) if isinstance(end, str) else end
        start_day = start
        if isinstance(start, str):
            start_day = parse_date_vi(start, default_year=end_day.year)
            if start_day > end_day:  # "28/12" before "03/01/2022" means the previous December
                start_day = parse_date_vi(start, default_year=end_day.year - 1)
        if isinstance(weekdays, str):
            days = weekdays_in_vi(weekdays)
            if not days:
                raise _err("invalid_weekdays", f"Không đọc được thứ trong '{weekdays}'.", "weekdays")
        elif weekdays is None:
            days = EVERY_DAY
        else:
            days = frozenset(parse_weekday_vi(w) for w in weekdays)
        return cls(start_date=start_day, end_date=end_day, slot_times=_times(at), weekdays=days, **extra)

    # --- questions -------------------------------------------------------------------

    @property
    def kind(self) -> str:
        """``once`` for a single date, ``recurring`` otherwise."""
        return "once" if self.start_date == self.end_date else "recurring"

    def occurrences(self, window_start: datetime, window_end: datetime) -> list[datetime]:
        """See :func:`occurrences`."""
        return occurrences(self, window_start, window_end)

    def all_occurrences(self) -> list[datetime]:
        """Every occurrence of the rule, in order (at most 366 days × 24 slots)."""
        return [
            t
            for day in day_span(self.start_date, self.end_date)
            if day.weekday() in self.weekdays
            for t in (local_instant(day, s) for s in self.slot_times)
            if self._valid(t)
        ]

    def _valid(self, t: datetime) -> bool:
        return ((self.valid_from is None or t >= self.valid_from) and (self.valid_until is None or t < self.valid_until)
                and t not in self.cancelled)

    def without(self, occurrence: datetime) -> "BroadcastRule":
        """The same rule with one occurrence cancelled; refuses an instant that is not one of its occurrences."""
        at = require_aware(occurrence, "occurrence")
        if at not in self.occurrences(at, at + timedelta(seconds=1)):
            raise _err("unknown_occurrence", f"Lịch phát không có buổi phát lúc {format_local_vi(at)}.", "occurrence")
        return replace(self, cancelled=self.cancelled | {at})

    def describe_vi(self) -> str:
        """The rule as an official would say it, for lists and confirmations."""
        times = " và ".join(f"{t:%H:%M}" for t in self.slot_times)
        if self.kind == "once":
            text = f"Ngày {format_date_vi(self.start_date)}, lúc {times}"
        else:
            if self.weekdays == EVERY_DAY:
                days = "Hằng ngày"
            else:
                days = "Các ngày " + ", ".join(weekday_vi(d) for d in sorted(self.weekdays))
            text = f"{days} từ {format_date_vi(self.start_date)} đến {format_date_vi(self.end_date)}, lúc {times}"
        if self.repeats > 1:
            gap = int(self.repeat_gap.total_seconds())
            text += f", phát {self.repeats} lần" + (f" cách nhau {_gap_vi(gap)}" if gap else " liền nhau")
        return text

    # --- storage ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON for storage; :meth:`from_dict` reads it back exactly."""
        return {
            "start_date": self.start_date.isoformat(),
            "end_date": self.end_date.isoformat(),
            "slot_times": [f"{t:%H:%M}" for t in self.slot_times],
            "weekdays": sorted(self.weekdays),
            "repeats": self.repeats,
            "repeat_gap_s": int(self.repeat_gap.total_seconds()),
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            **({"cancelled": sorted(t.isoformat() for t in self.cancelled)} if self.cancelled else {}),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "BroadcastRule":
        if not isinstance(d, Mapping):
            raise _err("invalid_rule", "Lịch phát phải là một đối tượng.", "rule")
        try:
            return cls(
                start_date=date.fromisoformat(d["start_date"]),
                end_date=date.fromisoformat(d["end_date"]),
                slot_times=_times(d["slot_times"]),
                weekdays=frozenset(parse_weekday_vi(w) for w in d.get("weekdays", range(7))),
                repeats=d.get("repeats", 1),
                repeat_gap=timedelta(seconds=_number(d.get("repeat_gap_s", 0), "repeat_gap_s")),
                valid_from=_instant(d.get("valid_from"), "valid_from"),
                valid_until=_instant(d.get("valid_until"), "valid_until"),
                cancelled=frozenset(_instant(t, "cancelled") for t in _list(d.get("cancelled", []), "cancelled")),
            )
        except KeyError as exc:
            raise _err("invalid_rule", f"Lịch phát thiếu trường {exc.args[0]!r}.", str(exc.args[0])) from None
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ScheduleInputError):
                raise
            raise _err("invalid_rule", f"Lịch phát có trường không hợp lệ: {exc}.", "rule") from None


def occurrences(rule: BroadcastRule, window_start: datetime, window_end: datetime) -> list[datetime]:
    """The rule's occurrences (UTC instants) with ``window_start <= t < window_end``, in order.

    Only the local dates the window touches are visited, so a year-long rule costs nothing
    when asked about the next 48 hours.
    """
    start, end = require_aware(window_start, "window_start"), require_aware(window_end, "window_end")
    if end <= start:
        return []
    first = max(rule.start_date, local_date(start))
    last = min(rule.end_date, local_date(end))
    if last < first:
        return []
    out = []
    for day in day_span(first, last):
        if day.weekday() not in rule.weekdays:
            continue
        for slot in rule.slot_times:
            t = local_instant(day, slot)
            if start <= t < end and rule._valid(t):
                out.append(t)
    return out


def parse_rule_vi(text: str, default_year: int | None = None, **extra: Any) -> BroadcastRule:
    """A whole rule from one phrase, e.g. ``từ ngày 07/9 đến ngày 14/9/2021, 6 giờ và 17 giờ``.

    One date makes a one-off rule, two dates a range; weekdays (``Thứ 2, Thứ 6``) restrict a
    range; ``phát 2 lần cách nhau 5 phút`` sets repeats.  ``extra`` passes validity limits.
    """
    if not isinstance(text, str) or not text.strip():
        raise _err("invalid_rule", "Chưa nhập lịch phát (ví dụ: từ ngày 07/9 đến ngày 14/9/2021, 6 giờ và 17 giờ).", "rule")
    dates, times, weekdays, repeats, gap = rule_parts_vi(text, default_year)
    if len(dates) not in (1, 2):
        raise _err(
            "invalid_rule",
            f"Không đọc được ngày phát trong '{text}' (ví dụ: ngày 07/9/2021 hoặc từ ngày 07/9 đến ngày 14/9/2021).",
            "rule",
        )
    return BroadcastRule(
        start_date=dates[0],
        end_date=dates[-1],
        slot_times=times,
        weekdays=weekdays or EVERY_DAY,
        repeats=repeats,
        repeat_gap=gap,
        **extra,
    )


def _times(value: time | str | Iterable[time | str]) -> tuple[time, ...]:
    if isinstance(value, (time, str)):
        value = [value]
    try:
        items = list(value)
    except TypeError:
        raise _err("invalid_time", "Giờ phát không hợp lệ.", "slot_times") from None
    return tuple(parse_time_vi(v) if isinstance(v, str) else v for v in items)


def _number(value: Any, field_name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _err("invalid_rule", f"Trường '{field_name}' phải là một số.", field_name)
    return float(value)


def _list(value: Any, field_name: str) -> list[Any]:
    if not isinstance(value, list):
        raise _err("invalid_rule", f"Trường '{field_name}' phải là một danh sách.", field_name)
    return value


def _instant(value: Any, field_name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _err("invalid_rule", f"Trường '{field_name}' phải là thời điểm ISO 8601.", field_name)
    return require_aware(datetime.fromisoformat(value), field_name)


def _gap_vi(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    if secs == 0:
        return f"{minutes} phút"
    return f"{minutes} phút {secs} giây" if minutes else f"{secs} giây"
