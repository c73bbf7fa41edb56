"""The normalization pipeline: one written line in, one spoken line out.

The order of the steps matters and is the point of this module: a commune's own dictionary
first (it may correct any rule), then codes whose digits and letters belong together (road
and kilometre markers, flood alarm levels, quarters), document references and telephone
numbers before the dictionary (their letters are not abbreviations to expand), the
dictionary before dates and numbers (``F0``, ``5K``, ``COVID-19`` hold digits), dates and
times before plain numbers, and upper-case words last, so that only what no rule explained
is spelled.  Each step has a rule name, which ``loaxa script --explain`` prints beside
every rewrite it made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from audio.normalize import numbers
from audio.normalize.addresses import read_addresses
from audio.normalize.codes import read_document_titles, read_flood_levels, read_quarters, read_roads, read_varieties
from audio.normalize.definitions import drop_definitions
from audio.normalize.contextual import read_contextual
from audio.normalize.fuels import read_fuels
from audio.normalize.dates import read_day_ranges, read_hours_of_day, read_hyphen_dates, read_dates, read_scores, read_times
from audio.normalize.dictionary import Abbreviations
from audio.normalize.letters import foreign_words, read_codes, speak_capitals
from audio.normalize.markers import capitalize, read_ordinals, split_marker
from audio.normalize.phones import read_phones
from audio.normalize.plain import BOOKMARK, SPACES, plain, without_end_marks
from audio.normalize.quantities import (join_thousands, read_coordinates, read_decimal_dots, read_dimensions,
                                        read_numbers, read_quantities, read_ranges)
from audio.normalize.references import read_references
from audio.normalize.registrations import read_registrations
from audio.normalize.result import Normalized, Trace
from audio.normalize.slashes import read_slashes
from audio.normalize.weekdays import read_weekdays
from audio.normalize.symbols import approximately, read_symbols, without_emoji

_ROUND_THE_CLOCK = re.compile(r"(?<![\w])24\s*(?P<h>h|giờ)?\s*/\s*(?P<d>7|24)(?P<h2>\s?(?:h|giờ))?(?![\w]|[.,]\d)")


@dataclass(frozen=True)
class _Context:
    dictionary: Abbreviations
    local: Abbreviations | None
    trace: Trace


def _prepare(line: str) -> str:
    line = plain(line)
    line = BOOKMARK.sub("", line).replace("*", "")
    line = without_end_marks(line)
    return SPACES.sub(" ", line).strip()


def _round_the_clock(line: str, _: _Context) -> str:
    def one(m: re.Match[str]) -> str:
        if m["d"] == "24":
            return "hai mươi tư trên hai mươi tư giờ" if m["h"] or m["h2"] else "hai mươi tư trên hai mươi tư"
        return ("hai mươi tư giờ trên bảy" if m["h"] else "hai mươi tư trên bảy") + (" giờ" if m["h2"] else "")

    return _ROUND_THE_CLOCK.sub(one, line)


def _local(line: str, ctx: _Context) -> str:
    return ctx.local.expand(line) if ctx.local is not None else line


def _dictionary(line: str, ctx: _Context) -> str:
    return ctx.dictionary.expand(line, ctx.trace.foreign_word)


def _capitals(line: str, ctx: _Context) -> str:
    return speak_capitals(line, ctx.trace.spelled)


Step = Callable[[str, _Context], str]

STEPS: tuple[tuple[str, Step], ...] = (
    ("definitions", lambda line, ctx: drop_definitions(line, ctx.dictionary)),
    ("local-dictionary", _local),
    ("emoji", lambda line, _: without_emoji(line)),
    ("addresses", lambda line, _: read_addresses(line)),
    ("registrations", lambda line, _: read_registrations(line)),
    ("fuels", lambda line, _: read_fuels(line)),
    ("contextual", lambda line, _: read_contextual(line)),
    ("thousands", lambda line, _: join_thousands(line)),
    ("approximately", lambda line, _: approximately(line)),
    ("round-the-clock", _round_the_clock),
    ("roads", lambda line, _: read_roads(line)),
    ("flood-levels", lambda line, _: read_flood_levels(line)),
    ("quarters", lambda line, _: read_quarters(line)),
    ("document-titles", lambda line, _: read_document_titles(line)),
    ("references", lambda line, ctx: read_references(line, ctx.dictionary)),
    ("phones", lambda line, _: read_phones(line)),
    ("weekdays", lambda line, _: read_weekdays(line)),
    ("varieties", lambda line, _: read_varieties(line)),
    ("dictionary", _dictionary),
    ("coordinates", lambda line, _: read_coordinates(line)),
    ("dimensions", lambda line, _: read_dimensions(line)),
    ("decimal-dots", lambda line, _: read_decimal_dots(line)),
    ("hours-of-day", lambda line, _: read_hours_of_day(line)),
    ("scores", lambda line, _: read_scores(line)),
    ("day-ranges", lambda line, _: read_day_ranges(line)),
    ("hyphen-dates", lambda line, _: read_hyphen_dates(line)),
    ("ranges", lambda line, _: read_ranges(line)),
    ("slashes", lambda line, _: read_slashes(line)),
    ("dates", lambda line, _: read_dates(line)),
    ("times", lambda line, _: read_times(line)),
    ("ordinals", lambda line, _: read_ordinals(line)),
    ("quantities", lambda line, _: read_quantities(line)),
    ("codes", lambda line, _: read_codes(line, numbers.integer)),
    ("numbers", lambda line, _: read_numbers(line)),
    ("capitals", _capitals),
    ("symbols", lambda line, _: read_symbols(line)),
)
RULES = tuple(name for name, _ in STEPS)


def _normalize_line(line: str, ctx: _Context) -> str:
    line = _prepare(line)
    if not line:
        return ""
    prefix, rest = split_marker(line)
    ctx.trace.step("markers", line, prefix + rest)
    starts_upper = next((c.isupper() for c in rest if c.isalnum()), False)
    for name, step in STEPS:
        before, rest = rest, step(rest, ctx)
        ctx.trace.step(name, before, rest)
    for word in foreign_words(rest):
        ctx.trace.foreign_word(word, word)
    if prefix or starts_upper:
        rest = capitalize(rest)
    return (prefix + rest).strip()


def normalize_line(line: str, dictionary: Abbreviations) -> str:
    """Normalize one line; the result never contains a line break."""
    return _normalize_line(line, _Context(dictionary, None, Trace()))


def normalize(text: str, dictionary: Abbreviations, local: Abbreviations | None = None,
              explain: bool = False) -> Normalized:
    """Normalize line by line, with what the official should review (see :class:`Normalized`)."""
    ctx = _Context(dictionary, local, Trace(explain=explain))
    lines = []
    for number, line in enumerate(text.split("\n"), start=1):
        ctx.trace.line = number
        lines.append(_normalize_line(line.rstrip("\r"), ctx))
    return ctx.trace.result("\n".join(lines))


def normalize_text(text: str, dictionary: Abbreviations) -> str:
    """Normalize line by line: the output has exactly as many lines as the input."""
    return normalize(text, dictionary).text
