"""Times and dates as people type them into the schedule form, often on a phone's number pad.

A phone's numeric keypad has digits, a dot and little else, so ``0600``, ``06.00`` and
``6.30`` must mean what they look like; officials also write ``6h``, ``6h30``, ``17g30``,
``6 giờ`` and ``6 giờ 30`` (the forms of :mod:`schedules.date_phrases_vi`).  Each error
quotes exactly what was typed, so the person sees which entry was not understood.

"Hằng ngày" (every day) or "các ngày làm việc" without an end date is refused with a
question rather than quietly becoming one day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from schedules.date_phrases_vi import fold, parse_date_vi, parse_time_vi
from schedules.errors import ScheduleInputError
from schedules.rules import MAX_SPAN_DAYS
from schedules.timeutil import LOCAL_TZ, require_aware

RECURRENCES = ("once", "daily", "weekdays")
WEEKDAYS_OF = {"once": frozenset(range(7)), "daily": frozenset(range(7)), "weekdays": frozenset(range(5))}
RECURRENCE_VI = {"once": "Một lần", "daily": "Hằng ngày", "weekdays": "Các ngày làm việc"}
MAX_REPEATS_PER_SLOT = 5
MAX_ENTRY_CHARS = 200

TIME_EXAMPLE = "ví dụ: 06:00, 0600, 06.00, 6h30 hoặc 6 giờ 30"
DATE_EXAMPLE = "ví dụ: 03/12/2026"

_DIGITS_RE = re.compile(r"(\d{1,2})(\d{2})")
_SEPARATED_RE = re.compile(r"(\d{1,2})\s*[:.]\s*(\d{2})(?:\s*[:.]\s*(\d{2}))?")
_LIST_SPLIT_RE = re.compile(r"\s*(?:[,;\n]|\bva\b|\bvà\b)\s*", re.IGNORECASE)


def _time_error(raw: str) -> ScheduleInputError:
    return ScheduleInputError("invalid_time", f"Không đọc được giờ phát “{raw}” ({TIME_EXAMPLE}).", "slot_times")


def parse_clock(raw: str) -> time:
    """One wall-clock time as typed: ``0600``, ``06.00``, ``6:00``, ``06:00:30``, ``6h``, ``6h30``, ``6 giờ 30``.

    Seconds are kept (a one-off may start on a second); anything out of range or not a time
    raises :class:`ScheduleInputError` quoting ``raw``.
    """
    if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_ENTRY_CHARS:
        raise _time_error(raw if isinstance(raw, str) else str(raw))
    text = fold(raw).strip()
    m = _DIGITS_RE.fullmatch(text) if len(text) in (3, 4) else None
    if m is None:
        m = _SEPARATED_RE.fullmatch(text)
    if m is not None:
        hour, minute = int(m.group(1)), int(m.group(2))
        second = int(m.group(3) or 0) if m.re.groups >= 3 else 0
        if hour > 23 or minute > 59 or second > 59:
            raise ScheduleInputError("invalid_time", f"Giờ phát “{raw}” không tồn tại ({TIME_EXAMPLE}).", "slot_times")
        return time(hour, minute, second)
    if text.isdigit() and len(text) <= 2:
        hour = int(text)
        if hour > 23:
            raise ScheduleInputError("invalid_time", f"Giờ phát “{raw}” không tồn tại ({TIME_EXAMPLE}).", "slot_times")
        return time(hour)
    try:
        return parse_time_vi(raw.strip())
    except ScheduleInputError as exc:
        if "không tồn tại" in exc.message:
            raise ScheduleInputError("invalid_time", f"Giờ phát “{raw}” không tồn tại ({TIME_EXAMPLE}).",
                                     "slot_times") from None
        raise _time_error(raw) from None


def parse_clock_list(raw: object) -> tuple[time, ...]:
    """Several times separated by commas, semicolons or "và", in order of the day, without repeats."""
    items = [str(v) for v in raw] if isinstance(raw, list) else _LIST_SPLIT_RE.split(str(raw or ""))
    found = {parse_clock(v) for v in items if v.strip()}
    if not found:
        raise ScheduleInputError("invalid_time", "Cần ít nhất một giờ phát.", "slot_times")
    return tuple(sorted(found))


def parse_form_date(raw: object, field: str, default_year: int) -> date:
    """A date from the form: the date picker's ``2026-12-03``, or typed ``03/12/2026``, ``3.12``, ``03/12``."""
    if not isinstance(raw, str) or not raw.strip():
        raise ScheduleInputError("invalid_date", "Chưa chọn ngày phát.", field)
    if len(raw) > MAX_ENTRY_CHARS:
        raise ScheduleInputError("invalid_date", f"Ngày quá dài ({DATE_EXAMPLE}).", field)
    try:
        return parse_date_vi(raw.strip(), default_year=default_year)
    except ScheduleInputError:
        raise ScheduleInputError("invalid_date", f"Không đọc được ngày “{raw}” ({DATE_EXAMPLE}).", field) from None


@dataclass(frozen=True)
class FormSchedule:
    """What the schedule form asks for: either one exact instant (``starts_at``) or a rule of whole minutes."""

    recurrence: str
    start_date: date
    end_date: date
    slot_times: tuple[time, ...]
    weekdays: frozenset[int]
    repeats: int

    def occurrences(self) -> list[datetime]:
        """Every slot opening, local and aware, in order."""
        days = [self.start_date + timedelta(days=i) for i in range((self.end_date - self.start_date).days + 1)]
        return [datetime.combine(d, s, LOCAL_TZ) for d in days if d.weekday() in self.weekdays for s in self.slot_times]

    @property
    def is_one_off(self) -> bool:
        return self.recurrence == "once" and len(self.slot_times) == 1

    def to_request(self) -> dict[str, object]:
        """The broadcast's timing in the controller's terms: ``starts_at`` or a ``rule`` in wire form."""
        if self.is_one_off:
            return {"starts_at": self.occurrences()[0].isoformat(), "repeats": self.repeats}
        return {"rule": {"start_date": self.start_date.isoformat(), "end_date": self.end_date.isoformat(),
                         "slot_times": [s.strftime("%H:%M") for s in self.slot_times],
                         "weekdays": sorted(self.weekdays), "repeats": self.repeats, "repeat_gap_s": 0}}


def form_schedule(recurrence: object, start_date: object, end_date: object, slot_times: object,
                  repeats: object, now: datetime) -> FormSchedule:
    """Read the schedule form; refuses a recurring schedule with no end date, past times and empty schedules."""
    now = require_aware(now, "now")
    kind = recurrence or "once"
    if kind not in RECURRENCES:
        raise ScheduleInputError("invalid_recurrence",
                                 "Kiểu lịch phát phải là một lần, hằng ngày hoặc các ngày làm việc.", "recurrence")
    year = now.astimezone(LOCAL_TZ).year
    start = parse_form_date(start_date, "start_date", year)
    if kind == "once":
        end = start
    elif not isinstance(end_date, str) or not end_date.strip():
        raise ScheduleInputError(
            "end_date_required",
            f"Lịch “{RECURRENCE_VI[str(kind)]}” phát đến ngày nào? Hãy chọn ngày kết thúc "
            "(chỉ phát một ngày thì chọn kiểu “Một lần”).", "end_date")
    else:
        end = parse_form_date(end_date, "end_date", start.year)
        if end < start:
            raise ScheduleInputError("invalid_date_range",
                                     f"Ngày kết thúc “{end_date}” trước ngày bắt đầu “{start_date}”.", "end_date")
        if (end - start).days >= MAX_SPAN_DAYS:
            raise ScheduleInputError("invalid_date_range",
                                     f"Một lịch phát kéo dài tối đa {MAX_SPAN_DAYS} ngày (đến ngày “{end_date}” là quá xa).",
                                     "end_date")
    slots = parse_clock_list(slot_times)
    try:
        count = int(str(repeats).strip()) if repeats not in (None, "") else 1
    except ValueError:
        raise ScheduleInputError("invalid_repeats", f"Số lần phát “{repeats}” phải là số nguyên.", "repeats") from None
    if not 1 <= count <= MAX_REPEATS_PER_SLOT:
        raise ScheduleInputError("invalid_repeats",
                                 f"Số lần phát trong một buổi phải từ 1 đến {MAX_REPEATS_PER_SLOT} (đã nhập “{repeats}”).",
                                 "repeats")
    form = FormSchedule(str(kind), start, end, slots, WEEKDAYS_OF[str(kind)], count)
    firsts = form.occurrences()
    if not firsts:
        raise ScheduleInputError("no_occurrences", "Lịch này không có buổi phát nào trong khoảng ngày đã chọn.",
                                 "start_date")
    if max(firsts) < now:
        raise ScheduleInputError(
            "in_the_past", f"Thời gian phát {max(firsts):%H:%M ngày %d/%m/%Y} đã qua; hãy chọn thời điểm trong tương lai.",
            "start_date")
    if not form.is_one_off and any(s.second for s in slots):
        raise ScheduleInputError("invalid_time", "Lịch lặp lại dùng giờ phát tính đến phút (ví dụ 06:00).",
                                 "slot_times")
    return form
