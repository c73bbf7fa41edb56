"""How well the cleaner did on a document: phrases kept and dropped, against an expectation.

The unit is the *phrase*: a piece of a source line between column gaps (tabs, runs of
spaces, markdown table cells) and sentence ends, so a flattened header line ("UBND XÃ … CỘNG HÒA …") counts
as the pieces an official would tell apart.  A phrase is right when most of its words have
the fate they should: read when it belongs to the title or body, left out when it is
apparatus.  Fates come from aligning the source's words with a script (difflib over
case-folded words), so casing, joined lines and tidied punctuation do not count as errors.

The expectation is either the expected script of the document, or the list of its
apparatus lines (everything else is body); the second serves corpora whose text is not
ours to copy.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable

_GAP = re.compile(r"\t+|[ \u00a0\u2007\u202f]{3,}|\s*\|\s*|(?i:<br\s*/?>)")
_SENTENCE = re.compile(r"(?<=[^\d\s][.!?;])\s+(?=[\"“(\-–]?[A-ZĐÀ-Ỹ])")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Phrase:
    """One phrase of a source, with where it was and what should and did happen to it."""

    line: int
    text: str
    expected_kept: bool
    kept: bool

    @property
    def right(self) -> bool:
        return self.expected_kept == self.kept


@dataclass(frozen=True)
class Score:
    """Phrase counts of one or more documents; ``wrong`` lists the phrases the cleaner missed."""

    phrases: int
    right: int
    body: int
    body_kept: int
    apparatus: int
    apparatus_dropped: int
    wrong: tuple[Phrase, ...] = ()

    @property
    def accuracy(self) -> float:
        return 100.0 * self.right / self.phrases if self.phrases else 100.0

    def __add__(self, other: "Score") -> "Score":
        return Score(
            self.phrases + other.phrases, self.right + other.right, self.body + other.body,
            self.body_kept + other.body_kept, self.apparatus + other.apparatus,
            self.apparatus_dropped + other.apparatus_dropped, self.wrong + other.wrong,
        )


def _words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(unicodedata.normalize("NFC", text))]


def split_phrases(source: str) -> list[tuple[int, str]]:
    """(1-based line, phrase) for every phrase of ``source`` that has a word."""
    out = []
    for number, line in enumerate(_lines(source), 1):
        for column in _GAP.split(line):
            for piece in _SENTENCE.split(column.strip()):
                if _words(piece):
                    out.append((number, " ".join(piece.split())))
    return out


def _lines(source: str) -> list[str]:
    return unicodedata.normalize("NFC", source).splitlines()


def _kept_words(source_words: list[str], script: str) -> set[int]:
    matcher = difflib.SequenceMatcher(None, source_words, _words(script), autojunk=False)
    kept: set[int] = set()
    for block in matcher.get_matching_blocks():
        kept.update(range(block.a, block.a + block.size))
    return kept


def _fates(phrases: list[tuple[int, str]], script: str) -> list[bool]:
    """Per phrase: True when most of its words are in ``script``, in order."""
    words, owner = [], []
    for k, (_, text) in enumerate(phrases):
        for w in _words(text):
            words.append(w)
            owner.append(k)
    kept = _kept_words(words, script)
    counts = [0] * len(phrases)
    totals = [0] * len(phrases)
    for index, k in enumerate(owner):
        totals[k] += 1
        counts[k] += index in kept
    return [counts[k] * 2 > totals[k] for k in range(len(phrases))]


def score(source: str, script: str, expected_script: str | None = None, apparatus: Iterable[str] = ()) -> Score:
    """Score the ``script`` the cleaner made of ``source``.

    Give ``expected_script`` (what should be read), or ``apparatus``: the source lines that
    should be dropped, every other phrase being body."""
    phrases = split_phrases(source)
    kept = _fates(phrases, script)
    if expected_script is not None:
        expected = _fates(phrases, expected_script)
    else:
        dropped = {" ".join(_words(a)) for a in apparatus}
        lines = _lines(source)
        whole = {n for n, line in enumerate(lines, 1) if " ".join(_words(line)) in dropped}
        expected = [n not in whole and " ".join(_words(text)) not in dropped for n, text in phrases]
    scored = [Phrase(line, text, e, k) for (line, text), e, k in zip(phrases, expected, kept)]
    body = [p for p in scored if p.expected_kept]
    rest = [p for p in scored if not p.expected_kept]
    return Score(
        len(scored), sum(p.right for p in scored), len(body), sum(p.kept for p in body),
        len(rest), sum(not p.kept for p in rest), tuple(p for p in scored if not p.right),
    )
