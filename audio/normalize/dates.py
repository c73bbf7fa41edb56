"""Dates and clock times as an announcer reads them.

``02/9/2021`` and ``20-9-2021`` become ``ngày hai tháng chín năm hai nghìn không trăm hai
mươi mốt``; ``ngày`` is added only when the text does not already say it.  April is always
``tháng tư``.  A bare ``07/9`` is a day and month (bulletins do not write fractions that
way); ``24/7`` is an exception handled before this module runs, and a fraction after a word
such as ``tỷ lệ``, ``chiếm``, ``khoảng`` (``chiếm 1/3``) is read ``một phần ba``.
"""

from __future__ import annotations

import re

from audio.normalize import numbers

_DAY = r"0?[1-9]|[12]\d|3[01]"
_MONTH = r"0?[1-9]|1[0-2]"


def _date_pattern(tag: str) -> str:
    return (
        rf"(?P<d{tag}>{_DAY})(?P<s{tag}>[/.\-])(?P<m{tag}>{_MONTH})"
        rf"(?:(?P=s{tag})(?P<y{tag}>\d{{4}}))?"
    )


_EDGE_BEFORE = r"(?<![\w/.,\-])"
_EDGE_AFTER = r"(?![\w/]|[.,\-]\d)"
_DATE = re.compile(_EDGE_BEFORE + _date_pattern("") + _EDGE_AFTER)
_DATE_RANGE = re.compile(_EDGE_BEFORE + _date_pattern("1") + r"\s*[-–]\s*" + _date_pattern("2") + _EDGE_AFTER)
_MONTH_YEAR = re.compile(rf"(?<![\w/.,\-])(?P<m>{_MONTH})/(?P<y>\d{{4}})(?![\w/]|[.,]\d)")
# "đợt 2/2025", "kỳ 1/2026": the second round of the year, not February.
_ROUND_OF_YEAR = re.compile(
    r"(?<![\w])(?P<kw>(?i:đợt|lần|kỳ|khóa|khoá|phiên|số))\s+(?P<n>\d{1,2})/(?P<y>(?:19|20)\d\d)(?![\w/]|[.,]\d)"
)
_MONTH_WORD = re.compile(rf"(?i:(?P<w>tháng))\s+(?P<m>{_MONTH})(?![\w/]|[.,]\d)")
_FRACTION = re.compile(
    r"(?<![\w])(?P<kw>(?i:tỷ lệ|tỉ lệ|chiếm|khoảng|gần|hơn|quá|còn|đạt))\s+"
    r"(?P<a>\d{1,2})/(?P<b>\d{1,2})(?![\w/]|[.,]\d)"
)
# "3/4 số hộ", "1/3 diện tích": a share of what follows, not the 3rd of April.
_SHARE = re.compile(
    r"(?<![\w/.,])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?=\s+(?i:số|tổng số|diện tích|dân số|khối lượng|kinh phí|thời gian"
    r"|quãng đường|sản lượng|lượng)(?![\w]))"
)
_SCALE = re.compile(r"(?<![\w])(?P<kw>(?i:tỷ lệ|tỉ lệ))\s+(?P<a>\d{1,3})\s*:\s*(?P<b>\d{1,3}(?:\.\d{3})*)(?![\w:]|[.,]\d)")
_SCORE = re.compile(r"(?<![\w])(?P<kw>(?i:tỷ số|tỉ số|thắng|thua)|hòa)\s+(?P<a>\d{1,2})\s*[-–:]\s*(?P<b>\d{1,2})(?![\w]|[.,]\d)")
_SAYS = re.compile(r"(?i:(ngày|mùng|mồng|tháng|đường|phố|quảng trường|cầu|công viên|khu phố|ấp|khóm))\s*$")
_DOT_DATE_CONTEXT = re.compile(r"(?i:ngày|mùng|mồng|hôm|sáng|chiều|tối|đêm|trưa|từ|đến|tới|hết)\s*$")
_SECTION_CONTEXT = re.compile(r"(?i:mục|điểm|khoản|điều|phần|tiểu mục|chương|phụ lục|bảng|hình|biểu)\s*$")
_DAY_RANGE = re.compile(
    rf"(?<![\w/.,\-])(?P<pre>(?i:từ\s+)?(?:(?i:ngày|mùng|mồng)\s+)?)(?P<d1>{_DAY})\s*(?:[-–—]|(?i:đến))\s*"
    rf"(?P<d2>{_DAY})/(?P<m>{_MONTH})(?:/(?P<y>\d{{4}}))?(?![\w/]|[.,\-]\d)"
)
_AT_DAYS = re.compile(r"(?i:vào|là|hôm|trong)\s*$")
_KEEP_NGAY = re.compile(r"(?:(?i:các|những|trong|hai|ba|bốn|năm|mấy)|\d+)\s*$")


def _time_pattern(tag: str) -> str:
    return rf"(?P<h{tag}>[01]?\d|2[0-4])(?:\s?(?:h|g|:)(?P<min{tag}>[0-5]\d)(?:'|’)?|h)"


_TIME = re.compile(r"(?<![\w.,])" + _time_pattern("") + r"(?![\w/])")
# Hours as a duration, beyond the clock: "36h", "trong 72 h tới".
_HOURS = re.compile(r"(?<![\w.,])(?P<n>\d{1,3})\s?h(?![\w/])")
# The clock written with the word: "17 giờ 00", "07 giờ 00 phút", "10 giờ 05".
_WORD_CLOCK = re.compile(r"(?<![\w.,])(?P<h>[01]?\d|2[0-4])\s+giờ\s+(?P<min>[0-5]\d)(?:\s*(?:phút|'|’))?(?![\w/]|[.,:]\d)")
# "9g sáng", "lúc 7g": an hour, not grams.
_G_HOUR = re.compile(
    r"(?<![\w.,])(?:(?<=(?i:lúc) )(?P<a>[01]?\d|2[0-4])g(?![\w/])|(?P<b>[01]?\d|2[0-4])g(?=\s+(?i:sáng|trưa|chiều|tối|đêm)(?![\w])))"
)
_TIME_RANGE = re.compile(r"(?<![\w.,])" + _time_pattern("1") + r"\s*[-–]\s*" + _time_pattern("2") + r"(?![\w/])")


def _is_date(sep: str, year: str | None) -> bool:
    """Day/month without a year only with a slash: ``5-7`` and ``4.1`` are not dates."""
    return year is not None or sep == "/"


def _is_dot_date(m: re.Match[str], day: str, month: str) -> bool:
    """``ngày 03.11``, ``(03.11)``: a day.month date, unless it numbers a section (``mục 4.1``)."""
    before = m.string[max(0, m.start() - 12): m.start()]
    if _SECTION_CONTEXT.search(before):
        return False
    return bool(_DOT_DATE_CONTEXT.search(before)) or (len(day) == 2 and len(month) == 2)

# Hydro-meteorological bulletins write the hour of a day as "19h/8" or "07h/10/9".
_HOUR_OF_DAY = re.compile(
    r"(?<![\w.,/])(?P<h>[01]?\d|2[0-4])(?:h|g)(?P<min>[0-5]\d)?'?\s?/\s?(?P<d>0?[1-9]|[12]\d|3[01])"
    r"(?:/(?P<m>0?[1-9]|1[0-2]))?(?:/(?P<y>(?:19|20)\d\d))?(?![\w/]|[.,]\d)"
)


def read_hours_of_day(line: str) -> str:
    """``từ 19h/8 đến 7h/10`` → ``từ 19h ngày 8 đến 7h ngày 10``; the date and time rules read the rest."""
    def one(m: re.Match[str]) -> str:
        date = m["d"] + (f"/{m['m']}" if m["m"] else "") + (f"/{m['y']}" if m["y"] else "")
        return f"{m['h']}h{m['min'] or ''} ngày {date}"

    return _HOUR_OF_DAY.sub(one, line)

# "ngày 20-11", "mùng 2-9": newspaper style for a date; "từ ngày 5-7" stays a range of days.
_HYPHEN_DATE = re.compile(
    rf"(?<![\w])(?P<kw>(?i:ngày|mùng|mồng))\s+(?P<d>{_DAY})-(?P<m>{_MONTH})(?![\w/\-]|[.,]\d)"
)
_HOLIDAYS = frozenset({(3, 2), (8, 3), (26, 3), (30, 4), (1, 5), (19, 5), (1, 6), (27, 7), (19, 8), (2, 9),
                       (10, 10), (13, 10), (15, 10), (20, 10), (20, 11), (22, 12)})
_RANGE_BEFORE = re.compile(r"(?i:từ|các|những|trong)\s*$")
_RANGE_AFTER = re.compile(r"\s*(?i:đến|tới)(?![\w])")


def read_hyphen_dates(line: str) -> str:
    """``ngày 20-11`` → ``ngày 20/11`` for the date rule: a day after its month cannot open a range."""
    def one(m: re.Match[str]) -> str:
        d, month = int(m["d"]), int(m["m"])
        closed = _RANGE_AFTER.match(m.string, m.end())
        if _RANGE_BEFORE.search(m.string[max(0, m.start() - 8):m.start()]) and not closed:
            return m.group(0)
        if d > month or (d, month) in _HOLIDAYS:
            return f"{m['kw']} {m['d']}/{m['m']}"
        return m.group(0)

    return _HYPHEN_DATE.sub(one, line)


def read_day_ranges(line: str) -> str:
    """``8-12/3``, ``20 -24/6``, ``8–12/3``, ``từ 8 đến 12/3`` → *từ ngày 8 đến ngày 12 tháng 3*."""

    def one(m: re.Match[str]) -> str:
        if int(m["d1"]) >= int(m["d2"]):
            return m.group(0)
        pre = m["pre"].lower()
        before = m.string[max(0, m.start() - 10):m.start()]
        keep = "ngày " if "ngày" in pre and "từ" not in pre and _KEEP_NGAY.search(before) else ""
        lead = m["pre"][:1].isupper()
        # "vào ngày 1-2/6": the preposition already places it; "vào từ ngày" is not said.
        since = "" if "ngày" in pre and "từ" not in pre and _AT_DAYS.search(before) else "từ "
        spoken = f"{keep}{since}ngày {numbers.integer(m['d1'])} đến ngày {_day_month_year(m['d2'], m['m'], m['y'])}"
        return capitalize_first(spoken) if lead else spoken

    return _DAY_RANGE.sub(one, line)


def capitalize_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _day_month_year(day: str, month: str, year: str | None) -> str:
    words = f"{numbers.integer(day)} tháng {numbers.month(int(month))}"
    return words + (f" năm {numbers.cardinal(int(year))}" if year else "")


# "các ngày 5, 6 và 7/10": the last day of a list that already said "ngày".
_DAY_LIST = re.compile(r"(?i:ngày|mùng|mồng)\s+\d{1,2}(?:\s*(?:,|và|hoặc)\s*\d{1,2})*\s*(?:,|(?i:và|hoặc))\s*$")


def _prefixed(text: str, start: int, word: str, spoken: str) -> str:
    """Add ``ngày``/``tháng`` unless the words just before already say it."""
    if _SAYS.search(text[max(0, start - 8):start]):
        return spoken
    if word == "ngày" and _DAY_LIST.search(text[max(0, start - 40):start]):
        return spoken
    return f"{word} {spoken}"


def read_scores(line: str) -> str:
    """``tỷ số 2-1``, ``thắng 3-0`` → *hai một*, *ba không*: a score, not a range."""
    return _SCORE.sub(lambda m: f"{m['kw']} {numbers.cardinal(int(m['a']))} {numbers.cardinal(int(m['b']))}", line)


def _fraction(a: str, b: str) -> str:
    """``3/4`` → *ba phần tư*: a quarter is *tư*, as in *một phần tư*."""
    return f"{numbers.cardinal(int(a))} phần {'tư' if int(b) == 4 else numbers.cardinal(int(b))}"


def read_dates(line: str) -> str:
    def one_range(m: re.Match[str]) -> str:
        if not (_is_date(m["s1"], m["y1"]) and _is_date(m["s2"], m["y2"])):
            return m.group(0)
        first = _prefixed(m.string, m.start(), "ngày", _day_month_year(m["d1"], m["m1"], m["y1"]))
        return f"{first} đến ngày {_day_month_year(m['d2'], m['m2'], m['y2'])}"

    def one(m: re.Match[str]) -> str:
        if not _is_date(m["s"], m["y"]) and not (m["s"] == "." and _is_dot_date(m, m["d"], m["m"])):
            return m.group(0)
        return _prefixed(m.string, m.start(), "ngày", _day_month_year(m["d"], m["m"], m["y"]))

    def month_year(m: re.Match[str]) -> str:
        spoken = f"{numbers.month(int(m['m']))} năm {numbers.cardinal(int(m['y']))}"
        return _prefixed(m.string, m.start(), "tháng", spoken)

    line = _FRACTION.sub(lambda m: f"{m['kw']} {_fraction(m['a'], m['b'])}", line)
    line = _SHARE.sub(lambda m: m.group(0) if int(m["a"]) >= int(m["b"]) or _SAYS.search(m.string[max(0, m.start() - 8):m.start()])
                      else _fraction(m["a"], m["b"]), line)
    line = _SCALE.sub(lambda m: f"{m['kw']} {numbers.cardinal(int(m['a']))} phần {m['b']}", line)
    line = _DATE_RANGE.sub(one_range, line)
    line = _DATE.sub(one, line)
    line = _ROUND_OF_YEAR.sub(lambda m: f"{m['kw']} {numbers.cardinal(int(m['n']))} năm {numbers.cardinal(int(m['y']))}", line)
    line = _MONTH_YEAR.sub(month_year, line)
    return _MONTH_WORD.sub(lambda m: f"{m['w']} {numbers.month(int(m['m']))}", line)


def _clock(hour: str, minutes: str | None) -> str:
    spoken = f"{numbers.cardinal(int(hour))} giờ"
    return spoken + (f" {numbers.cardinal(int(minutes))} phút" if minutes and int(minutes) else "")


def read_times(line: str) -> str:
    """``17h30`` → mười bảy giờ ba mươi phút, ``0h00'`` → không giờ, ``6h-8h`` → sáu giờ đến tám giờ,
    ``17 giờ 00`` → mười bảy giờ."""
    line = _WORD_CLOCK.sub(lambda m: _clock(m["h"], m["min"]), line)
    line = _G_HOUR.sub(lambda m: _clock(m["a"] or m["b"], None), line)
    line = _TIME_RANGE.sub(lambda m: f"{_clock(m['h1'], m['min1'])} đến {_clock(m['h2'], m['min2'])}", line)
    line = _TIME.sub(lambda m: _clock(m["h"], m["min"]), line)
    return _HOURS.sub(lambda m: f"{numbers.cardinal(int(m['n']))} giờ", line)
