"""The slash, which bulletins use for four different things.

- A rate after a quantity: ``500 kg/sào``, ``7.000 đồng/kg``, ``2 lần/ngày``, ``5 người/phòng``
  → *trên* (the unit after it is read in full: *đồng trên ki lô gam*).
- A ratio of two counts: ``45/50 hộ``, ``12/12 xã`` → *bốn mươi lăm trên năm mươi hộ*.  A
  day/month shaped pair is a date (the date rule reads it), unless a counted noun follows.
- An address: ``số nhà 12/3`` → *mười hai xuyệt ba*; so is an identifier (``mẫu 02A/TNLĐ``).
- Two years in a row: ``năm học 2025/2026`` → *2025 đến 2026*.
- A letter before a code: ``A/H5N1`` → *a hát năm en một*, no pause.  (A list of
  identifiers, ``OM 5451/OM 18``, is read with a pause by the variety rule, which runs first.)

Between two words (``xã/phường``) it is *hoặc*; that reading is left to the symbol rule,
as is the document number (read by the reference rule before this one).
"""

from __future__ import annotations

import re

from audio.normalize.letters import spell
from audio.normalize.quantities import NUMBER, PER_WORDS, UNITS

PERIODS = frozenset({"giây", "phút", "giờ", "ngày", "đêm", "tuần", "tháng", "quý", "năm", "vụ", "lứa", "đợt",
                     "ca", "lần", "buổi", "kỳ", "mùa"})
AREAS = frozenset({"sào", "mẫu", "công", "ha", "m2", "m²", "km2", "km²", "thửa", "ao", "lồng", "bè", "ô"})
COUNTED = frozenset({"người", "hộ", "phòng", "khẩu", "con", "cây", "gốc", "bao", "chai", "liều", "suất", "lượt",
                     "xe", "tàu", "trẻ", "cháu", "em", "giường", "hội viên", "đoàn viên", "học sinh", "bệnh nhân",
                     "lao động", "nhân khẩu", "tiêu chí", "chỉ tiêu", "cơ sở", "doanh nghiệp", "hợp tác xã", "đơn vị",
                     "cán bộ", "hồ sơ", "mũi", "tổ", "nhóm", "đội", "lít", "kg", "tấn", "tạ", "yến", "gam", "m", "km", "m3", "m³", "lượng",
                     # containers a dose is mixed in: "1 gói/bình 16 lít", "20 ml/bình"
                     "bình", "thùng", "can", "phuy", "téc", "lọ", "gói", "hố", "khóm", "bụi", "luống"})
PLACES = frozenset({"xã", "phường", "thị trấn", "thôn", "bản", "ấp", "xóm", "khu phố", "huyện", "quận",
                    "thị xã", "thành phố", "tỉnh", "trường", "lớp", "làng", "buôn", "sóc", "khu"})
_TARGETS = sorted(PERIODS | AREAS | COUNTED | PLACES | {u for u, _ in UNITS if len(u) > 1}, key=len, reverse=True)
_UNIT_WORDS = frozenset(u for u, _ in UNITS) | frozenset({"đồng", "lít", "tấn", "tạ", "yến", "kg", "triệu", "nghìn", "tỷ"})
_SPOKEN = dict(UNITS)

# Targets that also begin compound words (công chức, ô tô, em bé, ca sĩ).
_COMPOUND_STARTS = frozenset({"công", "ô", "em", "ca", "con", "cây", "lớp", "tổ", "khu", "trẻ", "bình", "can", "gói"})
_WORD_AFTER = re.compile(r" [a-zà-ỹđ]")
_PER = re.compile(r"(?<=\w)\s*/\s*(?P<right>" + "|".join(re.escape(t) for t in _TARGETS) + r")(?![\w])", re.IGNORECASE)
_PAIR = re.compile(rf"(?<![\w/.,\-])(?P<a>{NUMBER})\s*/\s*(?P<b>{NUMBER})(?![\w/]|[.,]\d)")
_COUNTED_AFTER = re.compile(r"\s*(?P<w>[^\W\d_]+(?:\s[^\W\d_]+)?)")
_FRACTION_WORDS = re.compile(r"(?i:tỷ lệ|tỉ lệ|chiếm|khoảng|gần|hơn|quá|còn|đạt)\s*$")
_ADDRESS = re.compile(r"(?P<kw>(?i:số nhà|nhà số|hẻm|kiệt|ngõ|ngách))\s+(?P<a>\d+[A-Z]?)\s*/\s*(?P<b>\d+[A-Z]?)(?:\s*/\s*(?P<c>\d+[A-Z]?))?(?![\w/])")
# "1 kg vôi/100 m2": the rate is per a quantity; the number rules read "100 m2" after it.
_PER_QUANTITY = re.compile(
    rf"(?<=[^\W\d_])\s*/\s*(?=(?:{NUMBER})\s*(?:"
    + "|".join(re.escape(t) for t in (*_TARGETS, "tỷ", "triệu", "nghìn", "đồng")) + r")(?![\w]))", re.IGNORECASE
)
_YEARS = re.compile(r"(?<![\w/.,])(?P<a>(?:19|20)\d\d)\s*/\s*(?P<b>(?:19|20)\d\d)(?![\w/]|[.,]\d)")
# "Mẫu số 02A/TNLĐ", "biểu 01/TKT": an identifier, whose slash is read "xuyệt" as in addresses.
_IDENTIFIER = re.compile(r"(?<![\w/.,])(?P<a>\d+[A-Z]{1,3})/(?P<b>[A-ZĐ]{2,8})(?![\w/])")
_LETTER_CODE = re.compile(r"(?<![\w/])(?P<a>[A-Z])/(?=[A-Z]+\d)")
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MONTH = r"(?:0?[1-9]|1[0-2])"
_DATE_SHAPE = re.compile(rf"{_DAY}/{_MONTH}")
# After a day/month pair these make it a ratio (12/12 xã), unless a time word precedes it (sáng 2/9 người dân).
RATIO_NOUNS = ("người", "hộ", "xã", "phường", "thị trấn", "thôn", "bản", "ấp", "xóm", "làng", "trường", "lớp",
               "huyện", "tỉnh", "tiêu chí", "chỉ tiêu", "đơn vị", "cơ sở", "doanh nghiệp", "hợp tác xã", "học sinh",
               "thí sinh", "thành viên", "hội viên", "đoàn viên", "đảng viên", "mũi", "liều", "phòng", "khu dân cư")
_TIME_WORDS = re.compile(r"(?i:ngày|mùng|mồng|sáng|chiều|tối|đêm|trưa|hôm|từ|đến|tới|hết|trước|sau|lúc|vào)\s*$")


def _left_is_quantity(before: str) -> bool:
    tokens = before.split()
    if not tokens:
        return False
    last = tokens[-1].lower().lstrip("0123456789.,")
    if last in _UNIT_WORDS or last in PER_WORDS:
        return True
    return any(re.search(r"\d", t) for t in tokens[-5:])


def _per(m: re.Match[str]) -> str:
    before = m.string[max(0, m.start() - 48): m.start()]
    left = (before.split() or [""])[-1].lower().lstrip("0123456789.,")
    right = m["right"]
    if right.lower() in _COMPOUND_STARTS and _WORD_AFTER.match(m.string, m.end()):
        return m.group(0)  # "cán bộ/công chức": the start of a compound word, not a unit
    if f"{left}/{right}".lower() in {u.lower() for u in _SPOKEN} or not _left_is_quantity(before):
        return m.group(0)
    if right.lower() in PLACES and left in PLACES:
        return m.group(0)  # "10 xã/phường": two kinds of place, an "or"
    return " trên " + _SPOKEN.get(right, right)


def _pair(m: re.Match[str]) -> str:
    before = m.string[max(0, m.start() - 12): m.start()]
    if re.fullmatch(r"(?:19|20)\d\d", m["b"]):
        return m.group(0)
    after = _COUNTED_AFTER.match(m.string, m.end())
    words = after["w"].lower() if after else ""
    counted = any(words == t or words.startswith(t + " ") for t in RATIO_NOUNS) and not _TIME_WORDS.search(before)
    if not counted and (_FRACTION_WORDS.search(before) or _DATE_SHAPE.fullmatch(m.group(0).replace(" ", ""))):
        return m.group(0)
    return f"{m['a']} trên {m['b']}"


def read_slashes(line: str) -> str:
    """Rates, ratios, addresses and identifier lists; other slashes are left as they are."""
    line = _ADDRESS.sub(lambda m: f"{m['kw']} " + " xuyệt ".join(p for p in (m["a"], m["b"], m["c"]) if p), line)
    line = _LETTER_CODE.sub(lambda m: spell(m["a"]) + " ", line)
    line = _IDENTIFIER.sub(r"\g<a> xuyệt \g<b>", line)
    line = _YEARS.sub(lambda m: f"{m['a']} đến {m['b']}" if int(m["b"]) - int(m["a"]) in (1, 2, 5) else m.group(0), line)
    line = _PER_QUANTITY.sub(lambda m: " trên " if _left_is_quantity(m.string[max(0, m.start() - 48): m.start()]) else m.group(0), line)
    for _ in range(3):  # "đồng/người/tháng"
        new = _PER.sub(_per, line)
        if new == line:
            break
        line = new
    return _PAIR.sub(_pair, line)
