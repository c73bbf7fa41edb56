"""Fuel grades as price bulletins print them, read as an announcer says them.

Fuel price changes are announced on commune radio: ``Xăng E5 RON 92-II``, ``RON 95-III``,
``dầu diesel 0,05S-II``, ``DO 0,001S-V``, ``dầu mazut 180CST 3,5S``.  Read by the general
rules, ``-II`` became letters, ``0,05S`` a southern latitude and ``92-II`` a range.  The
octane number is a plain number, the Roman suffix is the emission level (read as its
number), ``S`` after a sulphur share is the letter *ét*.
"""

from __future__ import annotations

import re

from audio.normalize import numbers
from audio.normalize.letters import spell

_LEVEL = r"(?:[-–]\s?(?P<level>IV|V|I{1,3}))?"
_OCTANE = re.compile(r"(?<![\w])(?P<kw>RON|Ron)\s?(?P<n>\d{2,3})" + _LEVEL + r"(?![\w])")
_SULPHUR = re.compile(r"(?<![\w.,])(?P<n>\d+,\d+)\s?S" + _LEVEL + r"(?![\w])")
_VISCOSITY = re.compile(r"(?<![\w.,])(?P<n>\d{2,3})\s?(?:CST|cSt|cst)(?![\w])")
_OIL = re.compile(r"(?<![\w])(?P<kind>DO|FO)(?=\s+\d)|(?:(?<=(?i:dầu) )|(?<=(?i:nồng độ) )|(?<=(?i:hàm lượng) ))(?P<after>DO|FO)(?![\w])")
_FUEL_CONTEXT = re.compile(r"(?i:dầu|diesel|điêzen|DO|FO|mazut|nhiên liệu|lưu huỳnh)")


def _level(m: re.Match[str]) -> str:
    return f" {numbers.cardinal(numbers.roman(m['level']))}" if m["level"] else ""


def read_fuels(line: str) -> str:
    """``RON 95-III`` → ``rôn 95 ba``; ``DO 0,05S-II`` → ``đê ô 0,05 ét hai`` (the numbers stay for the number rules)."""
    line = _OCTANE.sub(lambda m: f"rôn {m['n']}{_level(m)}", line)
    if not _FUEL_CONTEXT.search(line):
        return line
    line = _OIL.sub(lambda m: spell(m["kind"] or m["after"]), line)
    line = _SULPHUR.sub(lambda m: f"{m['n']} ét{_level(m)}", line)
    return _VISCOSITY.sub(lambda m: f"{m['n']} xê ét tê", line)
