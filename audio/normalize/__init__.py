"""Vietnamese text normalization for speech: written bulletin text → what an announcer says.

Rule-based and deterministic: numbers, dates and times, units and rates, document
references, road and flood codes, telephone numbers, headings and list markers, symbols,
and an editable abbreviation dictionary with a foreign-word table.  :func:`normalize`
returns the spoken text with what the official should review (words it could not read,
foreign words, and on request every rewrite with its rule); :func:`normalize_text` returns
the text alone.  Both keep the line structure of their input.
"""

from __future__ import annotations

from typing import Mapping

from audio.normalize import text as _text
from audio.normalize.dictionary import Abbreviations, DictionaryError, load_abbreviations
from audio.normalize.result import Finding, Normalized, Rewrite

__all__ = ["Abbreviations", "DictionaryError", "Finding", "Normalized", "Rewrite", "RULES", "load_abbreviations",
           "normalize", "normalize_text"]

RULES = ("markers", *_text.RULES)


def _local(local: Mapping[str, str] | Abbreviations | None) -> Abbreviations | None:
    if local is None or isinstance(local, Abbreviations):
        return local
    return Abbreviations.from_mapping(local, "commune dictionary") if local else None


def normalize(text: str, dictionary: Abbreviations | None = None,
              local: Mapping[str, str] | Abbreviations | None = None, explain: bool = False) -> Normalized:
    """Return ``text`` as it should be spoken, with the findings of :class:`Normalized`.

    ``local`` is a commune's own dictionary (abbreviation → reading); it is applied before
    every other rule, so it can correct any of them.  ``explain`` also records each rewrite
    with the name of its rule (one of :data:`RULES`).  Raises ``DictionaryError`` for an
    unusable ``local`` entry."""
    base = dictionary if dictionary is not None else load_abbreviations()
    return _text.normalize(text, base, _local(local), explain)


def normalize_text(text: str, dictionary: Abbreviations | None = None) -> str:
    """Return ``text`` as it should be spoken, line for line (an empty line stays empty).

    ``dictionary`` defaults to the built-in abbreviations; pass ``load_abbreviations(path)``
    to apply a deployment's override file.
    """
    return _text.normalize_text(text, dictionary if dictionary is not None else load_abbreviations())
