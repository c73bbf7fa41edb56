"""Abbreviations whose reading depends on what follows them.

``SN`` is *sinh năm* before a year of birth (``Ông Trần Văn B, SN 1975``) and *số nhà*
before a house number (``SN 12 đường Lê Lợi``, ``SN 45/2``); ``THT`` is a cooperative or,
beside livestock, a cattle disease.  One dictionary entry cannot say both, and spelled
(*ét en*) it means nothing to a listener.

The same holds for short written forms: ``H.``/``X.`` are a district and a commune before a
place name (``H. Hòa Vang``) but a person's initial after a name (``Nguyễn Văn H.``); ``500k`` is
money; ``18t`` beside *trở lên* or *từ* is an age; ``ĐK`` after a hospital is *Đa khoa*; a storm's
name in capitals (``bão số 3 (YAGI)``) is a word, not letters to spell.
"""

from __future__ import annotations

import re

_BORN = re.compile(r"(?<![\w])(?:SN|Sn|sn)\.?\s*:?\s*(?=(?:19|20)\d\d(?![\w/]|[.,]\d))")
_HOUSE = re.compile(r"(?<![\w])SN\.?\s*:?\s*(?=\d{1,4}[A-Z]?(?:\s*/\s*\d+[A-Z]?)*(?![\w]|[.,]\d))")

# "THT" is a cooperative (tổ hợp tác) in an economic notice, and the cattle disease
# (tụ huyết trùng) beside foot-and-mouth, vaccines and livestock.
_THT = re.compile(r"(?<![\w])THT(?![\w])")
_LIVESTOCK = re.compile(r"(?i:LMLM|lở mồm|tiêm phòng|vắc xin|vaccine|trâu|bò|lợn|heo|gia súc|gia cầm|dịch bệnh|thú y)")

# "TT" is thông tin alone, but the standing committee (Thường trực) before a council or a
# Party committee, and a centre (Trung tâm) before what it serves.
_TT_STANDING = re.compile(r"(?<![\w])TT(?=\s+(?:HĐND|UBND|UBMTTQ|MTTQ|Đảng ủy|Đảng uỷ|ĐU|HU|TU|Huyện ủy|Tỉnh ủy|Thành ủy)(?![\w]))")
_TT_CENTRE = re.compile(r"(?<![\w])TT(?=\s+(?:Y tế|Văn hóa|Giáo dục|GDNN|Dạy nghề|Hành chính|Phục vụ|Chính trị)(?![\w]))")


# "H. Hòa Vang", "X. Hòa Tiến": an address's district and commune; never after a name ("Nguyễn Văn H.").
_PLACE_INITIAL = re.compile(r"(?P<pre>^|[,;:(]\s*|\s[-–]\s|\s(?:tại|ở|thuộc|về|và)\s)"
                            r"(?P<kind>[HX])\.\s?(?=[A-ZĐÂĂÊÔƠƯ][a-zà-ỹđ]+(?:\s|[,;.)]|$))")
_PLACE_KINDS = {"H": "huyện ", "X": "xã "}
# "500k", "50k/người": thousands of đồng, as notices of fees and prizes write them.
_THOUSANDS = re.compile(r"(?<![\w.,])(?P<n>\d{1,3})k(?=/|\s|[,;.)]|$)(?P<dong>\s+đồng)?")
# "18t trở lên", "từ 60t", "trẻ dưới 6t": an age; "xe trên 10t": a load.
_AGE = re.compile(r"(?P<pre>(?:(?<![\w])(?:từ|trên|dưới|đủ)\s)?)(?<![\w.,])(?P<n>\d{1,3})t"
                  r"(?=(?P<after>\s+(?:trở lên|trở xuống|tuổi)(?![\w]))|\s|[,;.)]|$)")
# "từ 5 - dưới 12 tuổi": a range whose far end is bounded.
_BOUNDED_RANGE = re.compile(r"(?<![\w.,/])(?P<a>\d+)\s*[-–]\s*(?P<b>dưới|trên|hết)(?=\s)")
_GENERAL_HOSPITAL = re.compile(r"(?P<pre>(?<![\w])(?:BV|(?i:bệnh viện|phòng khám))\s)ĐK(?![\w])")
# "bão số 3 (YAGI)", "áp thấp nhiệt đới KAJIKI": a storm's international name, a word, not letters.
_STORM_NAME = re.compile(r"(?P<pre>(?<![\w])(?i:siêu bão|bão|áp thấp nhiệt đới|tên quốc tế(?: là)?)(?:\s+(?i:số)\s+\d{1,2})?"
                         r"\s*[:(]?\s*)(?P<name>[A-Z]{3,}(?:-[A-Z]{3,})?)(?![\w])")
# "đạt 95,2%/KH": of the plan, not "or".
_OF_PLAN = re.compile(r"%\s*/\s*(?:KH|kế hoạch)(?![\w])")
_GENERAL_CLINIC = re.compile(r"(?<![\w])PK\s+ĐK(?![\w])")
# "trên 10t" is an age beside people, a load beside vehicles.
_PEOPLE = re.compile(r"(?i:trẻ|người|cháu|em|học sinh|tuổi|cụ|thanh niên|phụ nữ|công dân|nam|nữ)(?![\w])")
_LOADS = re.compile(r"(?i:xe|tải|trọng|tấn|hàng|cầu)(?![\w])")


def _age(m: re.Match[str]) -> str:
    """An age beside people; beside vehicles and goods, tonnes (``xe tải trên 10t``)."""
    near = m.string[max(0, m.start() - 30):m.start()]
    if _LOADS.search(near) or (_LOADS.search(m.string) and not _PEOPLE.search(m.string)):
        return f"{m['pre']}{m['n']} tấn"
    if m["after"] or (m["pre"] and _PEOPLE.search(m.string)):
        return f"{m['pre']}{m['n']} tuổi"
    return m.group(0)



def read_contextual(line: str) -> str:
    """``SN 1975`` → ``sinh năm 1975``; ``SN 12`` → ``số nhà 12``; ``THT`` beside livestock → tụ huyết trùng;
    ``TT HĐND`` → ``Thường trực HĐND``, ``TT Y tế`` → ``Trung tâm Y tế``."""
    line = _TT_CENTRE.sub("Trung tâm", _TT_STANDING.sub("Thường trực", line))
    line = _OF_PLAN.sub("% kế hoạch", line)
    line = _STORM_NAME.sub(lambda m: m["pre"] + m["name"].title(), line)
    line = _PLACE_INITIAL.sub(lambda m: m["pre"] + _PLACE_KINDS[m["kind"]], line)
    line = _THOUSANDS.sub(lambda m: f"{m['n']} nghìn" + (m["dong"] or " đồng"), line)
    line = _AGE.sub(_age, line)
    line = _BOUNDED_RANGE.sub(lambda m: f"{m['a']} đến {m['b']}", line)
    line = _GENERAL_HOSPITAL.sub(lambda m: m["pre"] + "Đa khoa", _GENERAL_CLINIC.sub("Phòng khám Đa khoa", line))
    if _LIVESTOCK.search(line):
        line = _THT.sub("tụ huyết trùng", line)
    return _HOUSE.sub("số nhà ", _BORN.sub("sinh năm ", line))
