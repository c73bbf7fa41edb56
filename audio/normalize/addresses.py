"""E-mail and web addresses, read the way an announcer dictates them.

A notice that ends with ``ubnd.tanlap@gmail.com`` or ``https://tanlap.gov.vn/thong-bao``
must be said so that a listener can write it down: every dot is *chấm*, ``@`` is
*a còng*, ``/`` is *gạch chéo*; the scheme (``https://``) is never said; the well-known
parts (``gmail``, ``gov``, ``vn``, ``www``) are said as everybody says them; a part shaped
like unaccented Vietnamese syllables (``tanlap``, ``thong``) is read as those syllables,
and anything else is spelled letter by letter, digits one by one.  The later rules
(dictionary, decimal dots, slashes) must never see an address: ``ubnd`` inside an e-mail is
not the committee, and the dot in ``gov.vn`` is not a decimal point.
"""

from __future__ import annotations

import re
from functools import lru_cache

from audio.normalize import numbers
from audio.normalize.letters import HIGHLAND_SYLLABLE as _HIGHLAND_SYLLABLE, spell

# How the common parts of addresses are said in Vietnamese.
KNOWN_PARTS = {
    "www": "vê kép vê kép vê kép", "gmail": "gờ meo", "yahoo": "da hu", "hotmail": "hót meo",
    "outlook": "ao lúc", "email": "i meo", "mail": "meo", "com": "com", "net": "nét", "org": "o rờ gờ",
    "gov": "gờ o vê", "edu": "e đu", "vn": "vê en", "info": "in phô", "int": "in", "io": "i ô",
    "facebook": "phây búc", "fb": "ép bê", "zalo": "da lô", "youtube": "diu túp", "google": "gu gồ",
    "portal": "po tồ", "vneid": "vê en ai đi", "dichvucong": "dịch vụ công", "baohiemxahoi": "bảo hiểm xã hội",
}
_SEPARATORS = {".": "chấm", "@": "a còng", "/": "gạch chéo", "-": "gạch ngang", "_": "gạch dưới"}
_TLD = r"(?:vn|com|net|org|gov|edu|info|int|io|asia)"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = re.compile(rf"(?<![\w.+\-@])[A-Za-z0-9][A-Za-z0-9._+\-]*@{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,}}(?![\w@])")
_URL = re.compile(
    rf"(?<![\w@/.])(?:(?P<scheme>https?://)(?P<host>{_LABEL}(?:\.{_LABEL})+)"
    rf"|(?P<bare>(?:www\.)?{_LABEL}(?:\.{_LABEL})*\.{_TLD})(?![\w\-]))"
    r"(?P<port>:\d{2,5})?(?P<path>/[^\s?#]*)?(?P<query>[?#]\S*)?",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?)]}»”\"'"


_VOWELS = "aăâeêioôơuưy"
# Unaccented shapes the syllable pattern admits but Vietnamese spelling does not: iê, yê, uô
# and ươ take a final consonant (open, they are written ia, ya, ua, ưa), and ei, ou, ae... are
# no Vietnamese vowels.
_NOT_VIETNAMESE = re.compile(r"(?:ie|ye|uo)$|ei|ou|ae|ii|aa|ee|yi|iy|oe[a-z]*[^n]$")


@lru_cache(maxsize=1024)
def _pieces(word: str) -> tuple[str, ...]:
    """Split an unaccented lower-case word into the syllables and spelled letters an
    announcer would say: ``hanoi`` → ``ha noi`` (syllables that start with a consonant
    are preferred to ``han oi``), ``ubndxa`` → ``u b n d xa``, ``daklak`` → ``dak lak``.
    A one-letter piece is spelled; the fewest spelled letters win."""
    best: list[tuple[int, tuple[str, ...]] | None] = [None] * (len(word) + 1)
    best[0] = (0, ())
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 7), end):
            head = best[start]
            if head is None:
                continue
            piece = word[start:end]
            if len(piece) == 1:
                cost = 1 if piece in _VOWELS and (start == 0 or end == len(word)) else 5
            elif _HIGHLAND_SYLLABLE.fullmatch(piece) and not _NOT_VIETNAMESE.search(piece):
                cost = 1 + (10 if piece[0] in _VOWELS and start else 0)
            else:
                continue
            candidate = (head[0] + cost, head[1] + (piece,))
            current = best[end]
            if current is None or candidate[0] < current[0]:
                best[end] = candidate
    found = best[len(word)]
    assert found is not None  # every letter alone is a piece
    return found[1]


def _part(part: str) -> str:
    """One run of letters or digits between separators."""
    lower = part.lower()
    if lower in KNOWN_PARTS:
        return KNOWN_PARTS[lower]
    if part.isdigit():
        return numbers.digits(part)
    words = []
    for run in re.findall(r"\d+|[^\W\d_]+", part):
        if run.isdigit():
            words.append(numbers.digits(run))
            continue
        words.extend(spell(p) if len(p) == 1 else p for p in _pieces(run.lower()))
    return " ".join(words)


def speak_address(address: str) -> str:
    """Say an address part by part with its separators: ``a.b@c.vn`` → ``a chấm bê a còng xê chấm vê en``."""
    spoken = []
    for token in re.findall(r"[.@/\-_]|[^.@/\-_]+", address):
        spoken.append(_SEPARATORS.get(token) or _part(token))
    return " ".join(w for w in spoken if w)


def _split_trailing(text: str) -> tuple[str, str]:
    stripped = text.rstrip(_TRAILING)
    return stripped, text[len(stripped):]


def read_emails(line: str) -> str:
    return _EMAIL.sub(lambda m: speak_address(m.group(0)), line)


def _url(m: re.Match[str]) -> str:
    host = m["host"] or m["bare"]
    path, tail = _split_trailing(m["path"] or "")
    if m["query"]:
        tail = ""
        _, tail = _split_trailing(m["query"])
    spoken = speak_address(host)
    if m["port"]:
        spoken += " hai chấm " + numbers.digits(m["port"])
    path = path.strip("/")
    if path:
        spoken += " gạch chéo " + speak_address(path)
    return spoken + tail


def read_web_addresses(line: str) -> str:
    return _URL.sub(_url, line)


def read_addresses(line: str) -> str:
    """E-mail addresses first (their domain is also shaped like a web address)."""
    if "@" not in line and "." not in line:
        return line
    return read_web_addresses(read_emails(line))
