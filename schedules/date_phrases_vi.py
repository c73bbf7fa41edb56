"""Reading times, dates and weekdays the way commune officials write them.

Accepted forms (with or without diacritics, any case):

- times: ``6:00``, ``06:00``, ``17h30``, ``17h``, ``0h00'``, ``17 giờ 30``, ``17 giờ 30 phút``,
  ``5 giờ chiều``, ``6 giờ sáng``, ``11 giờ đêm``;
- dates: ``07/9/2021``, ``7-9-2021``, ``07.09.2021``, ``2021-09-07``,
  ``ngày 12 tháng 10 năm 2021``, and ``07/9`` when the year is known from context;
- date ranges: ``từ ngày 07/9 đến ngày 14/9/2021`` (the first date borrows the second's year,
  or the year before when that would put it after the end, as in ``28/12 đến 03/01/2022``);
- weekdays: ``Thứ 2`` … ``Thứ 7``, ``Thứ Hai`` … ``Thứ Bảy``, ``T2`` … ``T7``, ``Chủ nhật``, ``CN``,
  lists (``Thứ 2, Thứ 4 và Thứ 6``), ranges (``Thứ 2 - Thứ 6``, ``từ thứ 2 đến thứ 6``) and
  ``hằng ngày`` / ``hàng ngày`` for every day;
- whole rules: ``từ ngày 07/9 đến ngày 14/9/2021, 6 giờ và 17 giờ``,
  ``ngày 20/11/2021 lúc 17h30, phát 2 lần cách nhau 5 phút``.

Bad input raises :class:`~schedules.errors.ScheduleInputError` with a Vietnamese message that
shows an example of what would be understood.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, time, timedelta

from schedules.errors import ScheduleInputError

WEEKDAY_NAMES_VI = ("Thứ 2", "Thứ 3", "Thứ 4", "Thứ 5", "Thứ 6", "Thứ 7", "Chủ nhật")
EVERY_DAY = frozenset(range(7))

_WEEKDAY_WORDS = {"hai": 0, "ba": 1, "tu": 2, "nam": 3, "sau": 4, "bay": 5}
_WEEKDAY_RE = re.compile(r"\b(?:thu\s*([2-7]|hai|ba|tu|nam|sau|bay)|t([2-7])|(chu\s*nhat|cn))\b")
_TIME_RE = re.compile(
    r"(?<![\d/.-])(\d{1,2})\s*(?:gio|g(?![a-z])|h(?![a-z])|:)\s*(\d{1,2})?\s*(?:phut|p(?![a-z])|')?"
    r"(?:\s*(sang|trua|chieu|toi|dem))?(?![\d/])"
)
_DATE_RE = re.compile(
    r"(?<!\d)(?:(\d{4})-(\d{1,2})-(\d{1,2})"
    r"|(\d{1,2})\s*[/.-]\s*(\d{1,2})(?:\s*[/.-]\s*(\d{4}))?"
    r"|(\d{1,2})\s+thang\s+(\d{1,2})(?:\s*(?:nam|,)?\s*(\d{4}))?)(?![\d:h])"
)
_REPEATS_RE = re.compile(r"(\d{1,2})\s*lan\b")
_GAP_RE = re.compile(r"cach(?:\s*nhau)?\s*(?=\d)(?:(\d{1,3})\s*phut)?\s*(?:(\d{1,3})\s*giay)?")
_EVERY_DAY_RE = re.compile(r"\bhang\s*ngay\b")

_TIME_EXAMPLE = "ví dụ: 6:00, 17h30 hoặc 17 giờ 30"
_DATE_EXAMPLE = "ví dụ: 07/9/2021"


def fold(text: str) -> str:
    """Lower-case text without diacritics (``đ`` → ``d``), so typed input need not be accented."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _apply_period(hour: int, period: str | None) -> int:
    if period in ("chieu", "toi") and hour < 12:
        return hour + 12
    if period == "trua" and hour < 6:
        return hour + 12
    if period == "dem" and 6 <= hour < 12:
        return hour + 12
    return hour


def _time_from_match(m: re.Match[str], raw: str) -> time:
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    hour = _apply_period(hour, m.group(3))
    if hour > 23 or minute > 59:
        raise ScheduleInputError("invalid_time", f"Giờ '{raw}' không tồn tại ({_TIME_EXAMPLE}).", "time")
    return time(hour, minute)


def parse_time_vi(text: str) -> time:
    """One local wall-clock time: ``6:00``, ``17h30``, ``17 giờ 30 phút``, ``5 giờ chiều``."""
    if not isinstance(text, str):
        raise ScheduleInputError("invalid_time", f"Giờ phát không hợp lệ ({_TIME_EXAMPLE}).", "time")
    m = _TIME_RE.fullmatch(fold(text).strip())
    if not m:
        raise ScheduleInputError("invalid_time", f"Không đọc được giờ '{text}' ({_TIME_EXAMPLE}).", "time")
    return _time_from_match(m, text)


def parse_times_vi(text: str) -> tuple[time, ...]:
    """Every time in a phrase such as ``6 giờ và 17 giờ``, in order of the day, without repeats."""
    folded = fold(text)
    found = sorted({_time_from_match(m, m.group(0)) for m in _TIME_RE.finditer(folded)})
    if not found:
        raise ScheduleInputError("invalid_time", f"Không thấy giờ phát trong '{text}' ({_TIME_EXAMPLE}).", "time")
    return tuple(found)


def _date_parts(m: re.Match[str]) -> tuple[int, int, int | None]:
    g = m.groups()
    if g[0]:
        return int(g[2]), int(g[1]), int(g[0])
    if g[3]:
        return int(g[3]), int(g[4]), int(g[5]) if g[5] else None
    return int(g[6]), int(g[7]), int(g[8]) if g[8] else None


def _make_date(day: int, month: int, year: int | None, raw: str) -> date:
    if year is None:
        raise ScheduleInputError("invalid_date", f"Ngày '{raw}' thiếu năm ({_DATE_EXAMPLE}).", "date")
    try:
        return date(year, month, day)
    except ValueError:
        raise ScheduleInputError("invalid_date", f"Ngày '{raw}' không tồn tại ({_DATE_EXAMPLE}).", "date") from None


def parse_date_vi(text: str, default_year: int | None = None) -> date:
    """One local date: ``07/9/2021``, ``2021-09-07``, ``ngày 12 tháng 10 năm 2021``, or ``07/9``."""
    if not isinstance(text, str):
        raise ScheduleInputError("invalid_date", f"Ngày không hợp lệ ({_DATE_EXAMPLE}).", "date")
    folded = re.sub(r"^\s*ngay\s*", "", fold(text)).strip()
    m = _DATE_RE.fullmatch(folded)
    if not m:
        raise ScheduleInputError("invalid_date", f"Không đọc được ngày '{text}' ({_DATE_EXAMPLE}).", "date")
    day, month, year = _date_parts(m)
    return _make_date(day, month, year if year is not None else default_year, text)


def _dates_in(folded: str, raw: str, default_year: int | None) -> list[date]:
    parts = [(_date_parts(m), m.group(0)) for m in _DATE_RE.finditer(folded)]
    if len(parts) == 2:
        (d1, m1, y1), s1 = parts[0]
        (d2, m2, y2), s2 = parts[1]
        y2 = y2 if y2 is not None else (y1 if y1 is not None else default_year)
        end = _make_date(d2, m2, y2, s2)
        if y1 is None:
            y1 = end.year if (m1, d1) <= (m2, d2) else end.year - 1
        return [_make_date(d1, m1, y1, s1), end]
    return [_make_date(d, mo, y if y is not None else default_year, s) for (d, mo, y), s in parts]


def parse_date_range_vi(text: str, default_year: int | None = None) -> tuple[date, date]:
    """``từ ngày 07/9 đến ngày 14/9/2021`` as (first day, last day), both included."""
    dates = _dates_in(fold(text), text, default_year)
    if len(dates) != 2:
        raise ScheduleInputError(
            "invalid_date_range", f"Cần hai ngày bắt đầu và kết thúc trong '{text}' (ví dụ: từ ngày 07/9 đến ngày 14/9/2021).",
            "date_range",
        )
    if dates[1] < dates[0]:
        raise ScheduleInputError("invalid_date_range", f"Ngày kết thúc trước ngày bắt đầu trong '{text}'.", "date_range")
    return dates[0], dates[1]


def _weekday_of(m: re.Match[str]) -> int:
    word, short, sunday = m.groups()
    if sunday:
        return 6
    token = word or short
    return _WEEKDAY_WORDS[token] if token in _WEEKDAY_WORDS else int(token) - 2


def _weekdays_in(folded: str) -> frozenset[int]:
    if _EVERY_DAY_RE.search(folded):
        return EVERY_DAY
    found = list(_WEEKDAY_RE.finditer(folded))
    days: set[int] = set()
    for a, b in zip(found, found[1:]):
        between = folded[a.end():b.start()]
        if re.fullmatch(r"\s*(?:-|–|den|toi)\s*", between):
            lo, hi = _weekday_of(a), _weekday_of(b)
            days.update(range(lo, hi + 1) if lo <= hi else [*range(lo, 7), *range(0, hi + 1)])
    days.update(_weekday_of(m) for m in found)
    return frozenset(days)


def parse_weekdays_vi(text: str) -> frozenset[int]:
    """Weekdays (0 = Monday … 6 = Sunday) from ``Thứ 2, Thứ 4 và Thứ 6``, ``T2-T6``, ``CN``, ``hằng ngày``."""
    days = _weekdays_in(fold(text)) if isinstance(text, str) else frozenset()
    if not days:
        raise ScheduleInputError(
            "invalid_weekdays", f"Không đọc được thứ trong '{text}' (ví dụ: Thứ 2, Thứ 4, Chủ nhật).", "weekdays"
        )
    return days


def weekday_vi(weekday: int) -> str:
    return WEEKDAY_NAMES_VI[weekday]


def parse_weekday_vi(text: str | int) -> int:
    """One weekday as 0..6, from an int or any form :func:`parse_weekdays_vi` reads."""
    if isinstance(text, int) and not isinstance(text, bool):
        if 0 <= text <= 6:
            return text
        raise ScheduleInputError("invalid_weekdays", f"Thứ {text} không tồn tại (0 = Thứ 2 … 6 = Chủ nhật).", "weekdays")
    days = parse_weekdays_vi(text)
    if len(days) != 1:
        raise ScheduleInputError("invalid_weekdays", f"'{text}' không phải một ngày trong tuần.", "weekdays")
    return next(iter(days))


def parse_repeats_vi(text: str) -> tuple[int, timedelta]:
    """``phát 3 lần cách nhau 1 phút 30 giây`` as (3, 90 s); (1, 0) when the phrase says nothing."""
    folded = fold(text)
    m = _REPEATS_RE.search(folded)
    g = _GAP_RE.search(folded)
    repeats = int(m.group(1)) if m else 1
    gap = timedelta(minutes=int(g.group(1) or 0), seconds=int(g.group(2) or 0)) if g else timedelta(0)
    return repeats, gap


def rule_parts_vi(text: str, default_year: int | None = None) -> tuple[list[date], tuple[time, ...], frozenset[int], int, timedelta]:
    """Split a rule phrase into (dates, times, weekdays, repeats, gap); weekdays empty if unnamed.

    Dates, repeat counts and gaps are read first and blanked out, so ``14/9/2021`` or
    ``cách nhau 5 phút`` can never be mistaken for a time of day.
    """
    folded = fold(text)
    dates = _dates_in(folded, text, default_year)
    repeats, gap = parse_repeats_vi(text)
    rest = _GAP_RE.sub(" ", _REPEATS_RE.sub(" ", _DATE_RE.sub(" ", folded)))
    return dates, parse_times_vi(rest), _weekdays_in(folded), repeats, gap


def dates_in_vi(text: str, default_year: int | None = None) -> list[date]:
    """Every date a phrase mentions (two dates read as a range with year inference)."""
    return _dates_in(fold(text), text, default_year)


def weekdays_in_vi(text: str) -> frozenset[int]:
    """Weekdays a phrase mentions; empty when it names none."""
    return _weekdays_in(fold(text))
