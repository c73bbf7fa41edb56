"""Vietnamese number words, by the rules an announcer reads them.

The rules that generic converters get wrong, and the reason this module exists:
``mốt`` for a trailing 1 after ``mươi`` (21 → hai mươi mốt, but 11 → mười một),
``lăm`` for a trailing 5 after ``mười``/``mươi``, ``tư`` for a trailing 4 after ``mươi``
(always, so the whole system reads 24 the same way), ``linh`` for an empty tens place
(105 → một trăm linh năm), and ``không trăm`` for a group below one hundred that follows
a larger group (2021 → hai nghìn không trăm hai mươi mốt).
"""

from __future__ import annotations

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
MONTHS = ("", "một", "hai", "ba", "tư", "năm", "sáu", "bảy", "tám", "chín", "mười", "mười một", "mười hai")
_SCALES = ((10**6, "triệu"), (10**3, "nghìn"), (1, ""))
_BILLION = 10**9
# Beyond this many digits a number is an identifier, not a quantity; it is read digit by digit.
MAX_CARDINAL_DIGITS = 15


def _triple(n: int, padded: bool) -> list[str]:
    """Words for 0 < n < 1000; ``padded`` when a larger group precedes (2021, 1005)."""
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    words: list[str] = []
    if hundreds or padded:
        words += [DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units:
            if words:
                words.append("linh")
            words.append(DIGITS[units])
    elif tens == 1:
        words.append("mười")
        if units:
            words.append("lăm" if units == 5 else DIGITS[units])
    else:
        words += [DIGITS[tens], "mươi"]
        if units:
            words.append({1: "mốt", 4: "tư", 5: "lăm"}.get(units, DIGITS[units]))
    return words


def _below_billion(n: int, padded: bool) -> list[str]:
    words: list[str] = []
    for scale, name in _SCALES:
        group = n // scale % 1000
        if not group:
            continue
        words += _triple(group, padded)
        if name:
            words.append(name)
        padded = True
    return words


def _cardinal_words(n: int, padded: bool = False) -> list[str]:
    if n >= _BILLION:
        words = _cardinal_words(n // _BILLION, padded) + ["tỷ"]
        rest = n % _BILLION
        return words + _below_billion(rest, True) if rest else words
    return _below_billion(n, padded)


def cardinal(n: int) -> str:
    """Read a whole number: ``cardinal(2021) == 'hai nghìn không trăm hai mươi mốt'``."""
    if n < 0:
        return "âm " + cardinal(-n)
    if n == 0:
        return DIGITS[0]
    return " ".join(_cardinal_words(n))


def digits(text: str) -> str:
    """Read each digit on its own, as for phone numbers and codes: ``'113'`` → ``'một một ba'``."""
    return " ".join(DIGITS[int(c)] for c in text if c.isdigit())


def integer(text: str) -> str:
    """Read a run of digits as written: leading zeros of a count are silent (``03`` → ``ba``),
    longer zero-led runs and very long runs are identifiers read digit by digit."""
    stripped = text.lstrip("0")
    if len(text) > MAX_CARDINAL_DIGITS or (text.startswith("0") and len(text) > 3):
        return digits(text)
    return cardinal(int(stripped or "0"))


def fraction_digits(text: str) -> str:
    """Read the part after a decimal comma: ``5`` → năm, ``25`` → hai mươi lăm, ``05`` → không năm,
    ``125`` → một hai năm (long tails are read digit by digit, as announcers do)."""
    stripped = text.lstrip("0")
    zeros = [DIGITS[0]] * (len(text) - len(stripped))
    if not stripped:
        return " ".join(zeros)
    tail = cardinal(int(stripped)) if len(stripped) <= 2 else digits(stripped)
    return " ".join(zeros + [tail])


def decimal(whole: str, frac: str) -> str:
    """Read a decimal written with a comma: ``decimal('0', '5') == 'không phẩy năm'``.

    A fraction of zeros only (``30,0 mm``, as weather tables print every value) is not said."""
    if not frac.strip("0"):
        return integer(whole)
    return f"{integer(whole)} phẩy {fraction_digits(frac)}"


def ordinal(n: int) -> str:
    """The word after ``thứ``: 1 → nhất, 4 → tư, otherwise the cardinal."""
    return {1: "nhất", 4: "tư"}.get(n) or cardinal(n)


def month(n: int) -> str:
    """Month names are cardinals except April, which is always ``tháng tư``."""
    return MONTHS[n]


_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def roman(text: str) -> int:
    """Value of an upper-case Roman numeral; the caller has already matched its shape."""
    total = 0
    for i, ch in enumerate(text):
        value = _ROMAN[ch]
        if i + 1 < len(text) and _ROMAN[text[i + 1]] > value:
            total -= value
        else:
            total += value
    return total
