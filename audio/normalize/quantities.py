"""Quantities: plain numbers, decimals, ranges, percentages and measurement units.

Vietnamese writes thousands with dots (1.000.000) and decimals with a comma (0,5).
Weather and disaster notices depend on units (mm of rain, m³/s of discharge, km/h of wind),
so a unit after a number is read in full.
"""

from __future__ import annotations

import re

from audio.normalize import numbers

NUMBER = r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?"

# Longest first, so that "m³/s" wins over "m".
UNITS: tuple[tuple[str, str], ...] = (
    ("m³/s", "mét khối trên giây"), ("m3/s", "mét khối trên giây"),
    ("km/giờ", "ki lô mét trên giờ"), ("km/h", "ki lô mét trên giờ"),
    ("µg/m³", "micrô gam trên mét khối"), ("µg/m3", "micrô gam trên mét khối"),
    ("μg/m³", "micrô gam trên mét khối"), ("μg/m3", "micrô gam trên mét khối"),
    ("m/s", "mét trên giây"), ("kWh", "ki lô oát giờ"), ("MWh", "mê ga oát giờ"), ("GWh", "gi ga oát giờ"),
    ("kVA", "ki lô vôn am pe"), ("MVA", "mê ga vôn am pe"), ("mmHg", "mi li mét thủy ngân"),
    ("mg/l", "mi li gam trên lít"), ("mg/L", "mi li gam trên lít"), ("g/l", "gam trên lít"),
    ("mg/kg", "mi li gam trên ki lô gam"), ("ml/kg", "mi li lít trên ki lô gam"),
    ("km²", "ki lô mét vuông"), ("km2", "ki lô mét vuông"),
    ("m²", "mét vuông"), ("m2", "mét vuông"), ("m³", "mét khối"), ("m3", "mét khối"),
    ("°C", "độ xê"), ("ºC", "độ xê"), ("oC", "độ xê"), ("độ C", "độ xê"),
    ("km", "ki lô mét"), ("cm", "xen ti mét"), ("mm", "mi li mét"), ("m", "mét"),
    ("kg", "ki lô gam"), ("mg", "mi li gam"), ("g", "gam"),
    ("ml", "mi li lít"), ("ha", "héc ta"), ("kW", "ki lô oát"), ("MW", "mê ga oát"),
    ("kV", "ki lô vôn"), ("IU", "đơn vị quốc tế"), ("đ", "đồng"), ("l", "lít"),
)
# Words after which a slash means "per" (500.000 đồng/người) rather than "or" (cổng/trang).
PER_WORDS = frozenset(
    {"mét", "gam", "lít", "đồng", "giờ", "giây", "phút", "ngày", "tuần", "tháng", "năm", "người",
     "hộ", "tấn", "ta", "khối", "vuông", "liều", "lượt", "kg", "oát", "tạ", "yến", "sào", "mẫu", "lần"}
)

_UNIT_ALTERNATION = "|".join(re.escape(u) for u, _ in UNITS)
_SPOKEN_UNIT = dict(UNITS)
_NEGATIVE_TEMPERATURE = re.compile(rf"(?<![\w\d,.])[-−–]\s?(?=(?:{NUMBER})\s*(?:°C|ºC|oC|độ))")
_RANGE = re.compile(rf"(?<![\w/.,\-])(?P<a>{NUMBER})\s*[-–]\s*(?P<b>{NUMBER})(?![\d/\-]|[.,]\d)")
_PERCENT = re.compile(rf"(?<![\w/.,])(?P<n>{NUMBER})\s*%")
_UNIT = re.compile(rf"(?<![\w/.,])(?P<n>{NUMBER})\s*(?P<u>{_UNIT_ALTERNATION})(?![\w])")
_UNIT_AHEAD = "|".join(re.escape(u) for u, _ in UNITS if u not in ("đ", "l", "g"))
# A dot with one, two or four-plus digits after it, before a unit or after a magnitude word, is
# a decimal point as weather and flood bulletins write it (12.7mm, độ lớn 3.8); three digits
# after a dot are thousands (12.500 ha).
_DECIMAL_DOT = re.compile(
    r"(?<![\w.,])(?P<w>\d+)\.(?P<f>\d{1,2}|\d{4,})(?![\d.]|,\d)"
    rf"(?=(?:\s*[-–]\s*\d+(?:[.,]\d+)?)?\s*(?:(?:{_UNIT_AHEAD}|độ|%|lần|triệu|tỷ|mét|giờ)(?![\w])|°))"
)
_MAGNITUDE = re.compile(
    r"(?P<kw>(?i:độ lớn|cường độ|magnitude|richter|mực nước|đỉnh lũ|tâm bão|vĩ độ|kinh độ))(?:\s*\(M\)|\s*M(?=\s*\d))?(?P<gap>\s*:?\s*)"
    r"(?P<w>\d+)\.(?P<f>\d{1,2})(?![\d.]|,\d)"
)
_SECTION = re.compile(r"(?<![\w.,])\d{1,2}(?:\.\d{1,2})+(?![\w]|[.,]\d)")
_PLAIN = re.compile(rf"{NUMBER}")


def read_number(text: str) -> str:
    """Read one number as written: ``1.000.000``, ``2,5``, ``0,05``, ``03``."""
    whole, _, frac = text.partition(",")
    whole = whole.replace(".", "")
    return numbers.decimal(whole, frac) if frac else numbers.integer(whole)


def read_decimal_dots(line: str) -> str:
    """``12.7mm`` → ``12,7mm``, ``độ lớn 3.8`` → ``độ lớn 3,8``; thousands dots are left alone."""
    line = _MAGNITUDE.sub(lambda m: f"{m['kw']}{m['gap'] or ' '}{m['w']},{m['f']}", line)
    return _DECIMAL_DOT.sub(lambda m: f"{m['w']},{m['f']}", line)


def _minus(m: re.Match[str]) -> str:
    """A dash before a temperature is a minus sign, unless a number precedes it (10 - 15°C)."""
    before = m.string[max(0, m.start() - 8): m.start()].rstrip()
    return m.group(0) if before[-1:].isdigit() else "âm "


# "1 500 000 đồng", "1,500,000 VND": thousands grouped by spaces, or by commas as English writes them
# (two groups or more: one comma is a Vietnamese decimal).  A group of 0… is a phone number's.
_SPACED_THOUSANDS = re.compile(
    r"(?<![\w.,])(?P<n>[1-9]\d{0,2}(?: \d{3})+)(?![\w.,]|\s\d)(?=\s*(?:đồng|đ|VNĐ|VND|USD|người|hộ|lượt|tấn|ha|m|kg|con|cây|%)(?![\w]))"
)
_COMMA_THOUSANDS = re.compile(r"(?<![\w.,])(?P<n>[1-9]\d{0,2}(?:,\d{3}){2,})(?![\w,]|\.\d)")
# "18°-22°", "18° - 22°C": a range of degrees.
_DEGREE_RANGE = re.compile(rf"(?:(?<=[\s(])|^)(?P<na>[-−])?(?P<a>{NUMBER})\s*°\s*[-–]\s*(?P<nb>[-−])?(?P<b>{NUMBER})\s*°")


def join_thousands(line: str) -> str:
    """Thousands written with spaces or English commas become the dotted form the rules below read."""
    line = _SPACED_THOUSANDS.sub(lambda m: m["n"].replace(" ", "."), line)
    return _COMMA_THOUSANDS.sub(lambda m: m["n"].replace(",", "."), line)


def read_ranges(line: str) -> str:
    """``5-7`` becomes ``5 đến 7`` (still in digits, for the rules that follow); a dash
    before a temperature is a minus sign."""
    line = _DEGREE_RANGE.sub(lambda m: f"{'âm ' if m['na'] else ''}{m['a']} đến {'âm ' if m['nb'] else ''}{m['b']}°", line)
    line = _NEGATIVE_TEMPERATURE.sub(_minus, line)
    return _RANGE.sub(lambda m: f"{m['a']} đến {m['b']}", line)


# "1m5", "cao 1m2": a length in metres and tens of centimetres; "1m2" of an area is a square metre.
_METRES_AND = re.compile(r"(?<![\w.,])(?P<a>\d{1,2})m(?P<b>\d{1,2})(?![\w]|[.,]\d)")
_LENGTH_CONTEXT = re.compile(r"(?i:cao|dài|rộng|sâu|cách|ngập|chiều|mực nước|nước lên)(?![\w])")
_AREA_CONTEXT = re.compile(r"(?i:diện tích|vuông|khối|thể tích)(?![\w])")


def _metres_and(m: re.Match[str]) -> str:
    if m["b"] in ("2", "3"):
        before = m.string[max(0, m.start() - 40):m.start()]
        if not _LENGTH_CONTEXT.search(before) or _AREA_CONTEXT.search(before):
            return m.group(0)
    return f"{numbers.cardinal(int(m['a']))} mét {numbers.cardinal(int(m['b']))}"


def read_quantities(line: str) -> str:
    """Percentages and units, read after their number."""
    line = _METRES_AND.sub(_metres_and, line)
    line = _PERCENT.sub(lambda m: f"{read_number(m['n'])} phần trăm", line)
    return _UNIT.sub(lambda m: f"{read_number(m['n'])} {_SPOKEN_UNIT[m['u']]}", line)


def read_numbers(line: str) -> str:
    """Every number left: section numbers (4.1 → bốn chấm một) then plain numbers."""
    line = _SECTION.sub(lambda m: " chấm ".join(numbers.integer(p) for p in m.group(0).split(".")), line)
    return _PLAIN.sub(lambda m: read_number(m.group(0)), line)


# A storm's position as bulletins print it: "16.8N-112.5E", "17,5°N; 110,2°E".
_COORDINATE = re.compile(r"(?<![\w.,])(?P<w>\d{1,3})[.,](?P<f>\d{1,2})\s*°?\s*(?P<d>[NSEW])(?![\w])")
_HEMISPHERES = {"N": "độ vĩ bắc", "S": "độ vĩ nam", "E": "độ kinh đông", "W": "độ kinh tây"}
_BETWEEN_COORDINATES = re.compile(r"(?<=độ vĩ bắc|độ vĩ nam)\s*[-–—/;,]\s*(?=\d)")
# "ảnh 3x4", "4 × 6 m": dimensions, read "nhân".
_DIMENSION = re.compile(r"(?<![\w.,])(?P<a>\d+(?:,\d+)?)\s*[x×]\s*(?P<b>\d+(?:,\d+)?)(?![\w]|[.,]\d)")


def read_coordinates(line: str) -> str:
    """``16.8N-112.5E`` → ``16,8 độ vĩ bắc, 112,5 độ kinh đông`` (the digits stay for the number rules)."""
    line = _COORDINATE.sub(lambda m: f"{m['w']},{m['f']} {_HEMISPHERES[m['d']]}", line)
    return _BETWEEN_COORDINATES.sub(", ", line)


def read_dimensions(line: str) -> str:
    """``3x4`` → ``3 nhân 4``."""
    return _DIMENSION.sub(lambda m: f"{m['a']} nhân {m['b']}", line)
