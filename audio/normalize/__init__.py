"""Vietnamese text normalization for speech: written bulletin text → what an announcer says.

Rule-based and deterministic: numbers, dates and times, units, document references,
telephone numbers, headings and list markers, and an editable abbreviation dictionary.
The entry point is :func:`normalize_text`, which keeps the line structure of its input.
"""

from __future__ import annotations

from audio.normalize import text as _text
from audio.normalize.dictionary import Abbreviations, DictionaryError, load_abbreviations

__all__ = ["Abbreviations", "DictionaryError", "load_abbreviations", "normalize_text"]


def normalize_text(text: str, dictionary: Abbreviations | None = None) -> str:
    """Return ``text`` as it should be spoken, line for line (an empty line stays empty).

    ``dictionary`` defaults to the built-in abbreviations; pass ``load_abbreviations(path)``
    to apply a deployment's override file.
    """
    return _text.normalize_text(text, dictionary if dictionary is not None else load_abbreviations())
