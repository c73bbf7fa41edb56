"""Registration numbers of fishing boats and vehicles, read as identifiers.

Storm and flood bulletins name boats by registration: ``BĐ-91234-TS``, ``QNg 90567 TS``,
``KG-92345-TS`` (a province code, the number, ``TS`` for *thủy sản*).  Read by the general
rules, ``BĐ`` became *báo động*, ``BV`` *bệnh viện*, ``TS`` *tiến sĩ* and the number a
quantity.  An announcer spells the codes and says the number digit by digit, so that a
family at sea can recognise its boat.  Vehicle plates (``29A-123.45``, ``51F1-234.56``)
are read the same way, the groups as written.
"""

from __future__ import annotations

import re

from audio.normalize import numbers
from audio.normalize.letters import spell

_BOAT = re.compile(
    r"(?<![\w\-])(?P<code>[A-ZĐ]{1,3}|[A-ZĐ]{1,2}[a-zđ])[ .\-–]*(?P<number>\d{3,5})[ .\-–]*(?P<kind>TS|ĐB|KN)(?![\w])"
)
_PLATE = re.compile(
    r"(?<![\w\-.])(?P<area>\d{2})(?P<series>[A-ZĐ]{1,2}\d?)[ \-–]+(?P<number>\d{3}\.\d{2}|\d{4,5})(?![\w]|[.,]\d)"
)


def speak_boat(m: re.Match[str]) -> str:
    return f"{spell(m['code'])} {numbers.digits(m['number'])} {spell(m['kind'])}"


def _speak_plate(m: re.Match[str]) -> str:
    series = " ".join(spell(p) if p.isalpha() else numbers.digits(p) for p in re.findall(r"\d+|[^\W\d]+", m["series"]))
    groups = ", ".join(numbers.digits(g) for g in m["number"].split("."))
    return f"{numbers.digits(m['area'])} {series}, {groups}"


def read_registrations(line: str) -> str:
    return _PLATE.sub(_speak_plate, _BOAT.sub(speak_boat, line))
