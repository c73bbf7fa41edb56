"""What a normalization reports besides the spoken text.

The official must be able to see what the machine did with a bulletin before it goes on the
air: which words it could not read (spelled letter by letter), which foreign words it met,
and, for a reviewer, every rewrite and the rule that made it.  The results are frozen
values; :class:`Trace` is the private collector the pipeline fills while it works.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Finding:
    """A written word the official should look at, with how it is read now.

    ``line`` counts from 1 in the normalized text.  Unknown words are read letter by letter
    (``VTV`` → ``vê tê vê``); foreign words are read from the override table or as written."""

    word: str
    spoken: str
    line: int


@dataclass(frozen=True)
class Rewrite:
    """One change made by one rule: ``before`` became ``after`` on ``line`` (from 1)."""

    line: int
    rule: str
    before: str
    after: str


@dataclass(frozen=True)
class Normalized:
    """The spoken text and what the official should know about it.

    ``unknown``: upper-case tokens no rule or dictionary explained, spelled (listed once, in
    order of appearance); ``foreign``: foreign words met; ``rewrites``: filled only when asked
    for (``explain=True``), since computing them costs time."""

    text: str
    unknown: tuple[Finding, ...] = ()
    foreign: tuple[Finding, ...] = ()
    rewrites: tuple[Rewrite, ...] = ()


@dataclass
class Trace:
    """Collects findings and rewrites while one text is normalized (not shared across texts)."""

    explain: bool = False
    line: int = 0
    unknown: dict[str, Finding] = field(default_factory=dict)
    foreign: dict[str, Finding] = field(default_factory=dict)
    rewrites: list[Rewrite] = field(default_factory=list)

    def spelled(self, word: str, spoken: str) -> None:
        self.unknown.setdefault(word, Finding(word, spoken, self.line))

    def foreign_word(self, word: str, spoken: str) -> None:
        self.foreign.setdefault(word.casefold(), Finding(word, spoken, self.line))

    def step(self, rule: str, before: str, after: str) -> None:
        """Record what ``rule`` changed, word run by word run, when explaining."""
        if not self.explain or before == after:
            return
        old, new = before.split(), after.split()
        matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag != "equal":
                self.rewrites.append(Rewrite(self.line, rule, " ".join(old[i1:i2]), " ".join(new[j1:j2])))

    def result(self, text: str) -> Normalized:
        return Normalized(text, tuple(self.unknown.values()), tuple(self.foreign.values()), tuple(self.rewrites))
