"""Codes whose letters and digits belong together, read by the conventions of their field.

- Roads: ``QL14`` → *quốc lộ 14*, ``ĐT 605`` / ``ĐT.605`` → *đường tỉnh 605*, ``ĐH``
  (đường huyện), ``ĐX`` (đường xã), ``TL`` (tỉnh lộ), ``HL`` (hương lộ), ``ĐCT`` (đường cao
  tốc); a kilometre marker ``Km 42+150`` → *ki lô mét 42 cộng 150*.  ``ĐT`` before a
  telephone number stays *điện thoại*, so these run before the telephone rule.
- Flood alarm levels as hydrology bulletins abbreviate them: ``BĐ2``, ``BĐ 3``, ``BĐIII``
  → *báo động hai*, *báo động ba*.
- A quarter and its year: ``III/2025``, ``quý 3/2025`` → *quý ba năm 2025*.
- A document type heading a title (``TB``, ``KH``, ``CV``, ``QĐ`` …) or standing before
  ``số`` or a number is the document's name: ``TB: Lịch tiếp công dân`` → *Thông báo: …*.
- Seasons after ``vụ``: ``vụ ĐX``, ``vụ HT`` → *vụ Đông Xuân*, *vụ Hè Thu*.
- Crop varieties (``OM 5451``, ``ST25``, ``IR 50404``): the letters are spelled and a
  number of three digits or more is read digit by digit, as extension officers say them.

The rules leave the digits for the number rules that follow, so that every number in the
system is read the same way.
"""

from __future__ import annotations

import re

from audio.normalize import numbers
from audio.normalize.letters import spell

ROADS = {"QL": "quốc lộ", "ĐT": "đường tỉnh", "ĐH": "đường huyện", "ĐX": "đường xã", "TL": "tỉnh lộ",
         "HL": "hương lộ", "ĐCT": "đường cao tốc", "ĐĐT": "đường đô thị"}
_ROAD = re.compile(
    r"(?<![\w/.\-])(?P<code>QL|ĐT|ĐH|ĐX|TL|HL|ĐCT|ĐĐT)(?:\.\s?|\s?)(?P<n>\d{1,3}[A-Z]?)"
    r"(?![\w]|[.,:]\d|\s?\d)"
)
_VARIETY_CONTEXT = re.compile(r"(?i:giống)(?:\s+(?i:lúa|ngô|bắp|lạc|đậu|sắn|khoai))?(?:\s+[A-ZĐ]+\d*\s*(?:,|và|hoặc|/))*\s*$")
_KM = re.compile(
    r"(?<![\w])(?P<pre>\d+(?:[.,]\d+)?\s*)?(?P<km>[Kk][Mm])\.?\s?(?P<a>\d{1,4})(?:\s?\+\s?(?P<b>\d{1,4}))?(?![\w]|[.,]\d)"
)
_FLOOD = re.compile(r"(?<![\w])(?:BĐ|(?i:báo động))\s?(?P<n>[1-3]|I{1,3})(?![\w])")
_QUARTER = re.compile(
    r"(?<![\w/])(?P<kw>(?i:quý)\s+)?(?P<q>IV|I{1,3}|(?<=[Qq]uý )[1-4])\s*/\s*(?P<y>(?:19|20)\d{2})(?![\w/]|[.,]\d)"
)
_Q_QUARTER = re.compile(r"(?<![\w/])Q(?P<q>[1-4])\s*/\s*(?P<y>(?:19|20)\d{2})(?![\w/]|[.,]\d)")

DOCUMENT_WORDS = {
    "TB": "Thông báo", "KH": "Kế hoạch", "CV": "Công văn", "QĐ": "Quyết định", "NQ": "Nghị quyết",
    "NĐ": "Nghị định", "CT": "Chỉ thị", "TT": "Thông tư", "HD": "Hướng dẫn", "BC": "Báo cáo",
    "TTr": "Tờ trình", "GM": "Giấy mời", "KL": "Kết luận", "PA": "Phương án", "ĐA": "Đề án",
    "CTr": "Chương trình", "CĐ": "Công điện", "BB": "Biên bản", "QC": "Quy chế", "QyĐ": "Quy định",
    "TTLT": "Thông tư liên tịch", "GGT": "Giấy giới thiệu",
}
# At the start of a title these are document names; CT and TT there usually mean Chủ tịch, thị trấn.
_TITLE_WORDS = frozenset(DOCUMENT_WORDS) - {"CT", "TT"}
_TITLE_START = re.compile(rf"^(?P<t>{'|'.join(sorted(_TITLE_WORDS, key=len, reverse=True))})(?:\s*[:.]\s*|\s+)(?=[^\W\d_])")
_BEFORE_NUMBER = re.compile(
    rf"(?<![\w/.\-])(?P<t>{'|'.join(sorted(DOCUMENT_WORDS, key=len, reverse=True))})(?:\.\s*|\s+)(?=(?i:số)\s*:?\s*\d|\d+\s*[/\-])"
)

VARIETIES = ("OMCS", "OM", "IR", "ST", "ĐS", "KD", "BC", "TBR", "RVT", "VD", "MTL", "VNR", "NBK", "AS", "DT",
             "BT", "HT", "LH", "NV", "LVN", "NK", "DK", "PAC")
_VARIETY = re.compile(
    rf"(?<![\w/.\-])(?:(?P<after>(?i:giống)(?:\s+(?i:lúa|ngô|bắp|lạc|đậu|sắn|khoai))?\s+)(?P<any>[A-ZĐ]{{1,4}})"
    rf"|(?P<known>{'|'.join(sorted(VARIETIES, key=len, reverse=True))}))[\s\-]?(?P<n>(?!(?:19|20)\d\d(?!\d))\d{{1,6}})(?![\w]|[.,/]\d)"
)


_CODE_LIST = re.compile(r"(?<![\w/])(?P<a>[A-ZĐ]{1,5}\s?\d[\w]*)\s*/\s*(?=[A-ZĐ]{1,5}\s?\d)")


_DASH_BEFORE_ROAD = re.compile(r"(?<=\w)\s+[-–—]\s+(?=(?:QL|ĐT|ĐH|ĐX|TL|HL|ĐCT)[.\s]?\d)")
_KM_RANGE = re.compile(r"(?<=\d)\s*[-–—]\s*(?=ki lô mét \d)")
_LEVEL_RANGE = re.compile(r"(?<=báo động \w{2})\s*[-–—]\s*(?=báo động)|(?<=báo động \w{3})\s*[-–—]\s*(?=báo động)")
_SEASON = re.compile(r"(?<![\w])(?P<kw>(?i:vụ|trà))\s+(?P<s>ĐX|HT|TĐ|XH|HTĐ)(?![\w])")
SEASONS = {"ĐX": "Đông Xuân", "HT": "Hè Thu", "TĐ": "Thu Đông", "XH": "Xuân Hè", "HTĐ": "Hè Thu Đông"}


def _km(m: re.Match[str]) -> str:
    if m["pre"] and not m["b"]:
        return m.group(0)  # "5 km 3" is a distance, not a marker
    if m["km"] == "km" and m["a"] in ("2", "3") and not m["b"] and m.group(0).endswith("km" + m["a"]):
        return m.group(0)  # "người/km2": an area unit, not the marker Km 2
    spoken = f"{m['pre'] or ''}ki lô mét {m['a']}"
    return spoken + (f" cộng {m['b']}" if m["b"] else "")


def read_roads(line: str) -> str:
    """Road numbers and kilometre markers; the digits stay for the number rules."""
    line = _KM_RANGE.sub(" đến ", _KM.sub(_km, line))
    line = _DASH_BEFORE_ROAD.sub(", ", line)  # "Đường Trường Sơn Đông - ĐT 646": a pause, as before a name

    def road(m: re.Match[str]) -> str:
        name = ROADS[m["code"]]
        before = m.string[max(0, m.start() - 40): m.start()]
        if _VARIETY_CONTEXT.search(before):
            # "giống lúa ĐT100": a crop variety, read as varieties are (before the telephone rule sees ĐT)
            return f"{spell(m['code'])} {_variety_number(m['n'])}" if m["n"].isdigit() else m.group(0)
        said = before[-len(name) - 1:].strip().lower() == name
        if said:
            return m["n"]  # "Quốc lộ QL1A" names the road once
        if name.startswith("đường ") and before.rstrip().lower().endswith("đường"):
            return f"{name[len('đường '):]} {m['n']}"  # "Đường ĐX 03" → đường xã 03
        return f"{name} {m['n']}"

    return _ROAD.sub(road, line)


def _level(text: str) -> str:
    return numbers.cardinal(numbers.roman(text) if text.startswith("I") else int(text))


def read_flood_levels(line: str) -> str:
    """``BĐ2``, ``BĐ 3``, ``BĐIII``, ``báo động II`` → *báo động hai*, *báo động ba*."""
    line = _FLOOD.sub(lambda m: f"báo động {_level(m['n'])}", line)
    return _LEVEL_RANGE.sub(" đến ", line)


def read_quarters(line: str) -> str:
    """``III/2025``, ``quý III/2025``, ``quý 3/2025``, ``Q3/2025`` → *quý ba năm 2025*."""

    def one(m: re.Match[str]) -> str:
        q = m["q"]
        value = numbers.roman(q) if q[0] in "IV" else int(q)
        return f"quý {numbers.cardinal(value)} năm {m['y']}" if not m["kw"] else f"{m['kw']}{numbers.cardinal(value)} năm {m['y']}"

    line = _QUARTER.sub(one, line)
    return _Q_QUARTER.sub(lambda m: f"quý {numbers.cardinal(int(m['q']))} năm {m['y']}", line)


_AVERAGE = re.compile(
    r"(?P<kw>(?i:nhiệt độ|lượng mưa|mực nước|giá|năng suất|độ ẩm|mức|điểm|cao hơn|thấp hơn|bằng|xấp xỉ|so với|đạt)"
    r"(?:\s+(?i:trung bình|khoảng))?)\s+TB(?![\w])"
)


def read_document_titles(line: str) -> str:
    """A document type at the start of a title, or before ``số`` or a number, is its name;
    ``TB`` after a measured quantity is *trung bình* (``nhiệt độ TB``)."""
    line = _AVERAGE.sub(lambda m: f"{m['kw']} trung bình", line)
    line = _TITLE_START.sub(lambda m: m.group(0).replace(m["t"], DOCUMENT_WORDS[m["t"]], 1), line)
    return _BEFORE_NUMBER.sub(lambda m: DOCUMENT_WORDS[m["t"]] + " ", line)


def _variety_number(digits: str) -> str:
    return numbers.digits(digits) if len(digits) >= 3 else numbers.integer(digits)


def read_varieties(line: str) -> str:
    """``OM 5451`` → *ô em năm bốn năm một*, ``ST25`` → *ét tê hai mươi lăm*."""

    def one(m: re.Match[str]) -> str:
        letters = m["any"] or m["known"]
        return f"{m['after'] or ''}{spell(letters)} {_variety_number(m['n'])}"

    line = _SEASON.sub(lambda m: f"{m['kw']} {SEASONS[m['s']]}", line)
    line = _CODE_LIST.sub(r"\g<a>, ", line)
    return _VARIETY.sub(one, line)
