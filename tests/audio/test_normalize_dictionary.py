"""Every entry of the built-in dictionary and foreign-word table, read in a sentence."""

from __future__ import annotations

import pytest

from audio.normalize import load_abbreviations, normalize, normalize_text
from audio.normalize.dictionary import case_variant_ok
from audio.normalize.letters import is_syllable

DICTIONARY = load_abbreviations()
ABBREVIATIONS = sorted(DICTIONARY.abbreviations.items())
WORDS = sorted({**DICTIONARY.words, **DICTIONARY.foreign}.items())


def _in_a_sentence(key: str) -> str:
    return normalize_text(f"Tin của {key} về việc họp")


def test_the_dictionary_is_an_announcers() -> None:
    assert len(DICTIONARY.abbreviations) >= 400
    assert len(DICTIONARY.foreign) >= 50


@pytest.mark.parametrize(("key", "spoken"), ABBREVIATIONS, ids=[k for k, _ in ABBREVIATIONS])
def test_each_abbreviation_expands_in_a_sentence(key: str, spoken: str) -> None:
    assert _in_a_sentence(key) == f"Tin của {spoken} về việc họp"


@pytest.mark.parametrize(("key", "spoken"), WORDS, ids=[k for k, _ in WORDS])
def test_each_word_expands_in_any_case(key: str, spoken: str) -> None:
    for form in (key, key.lower(), key.upper()):
        assert _in_a_sentence(form) == f"Tin của {spoken} về việc họp", form


MIXED = [(k, v) for k, v in ABBREVIATIONS if k.isupper() and k.isalpha() and case_variant_ok(k.capitalize())]


@pytest.mark.parametrize(("key", "spoken"), MIXED, ids=[k for k, _ in MIXED])
def test_each_abbreviation_matches_in_mixed_case(key: str, spoken: str) -> None:
    assert _in_a_sentence(key.capitalize()) == f"Tin của {spoken} về việc họp"


def test_mixed_case_covers_most_entries() -> None:
    assert len(MIXED) >= 300


@pytest.mark.parametrize("word", ["Ca", "Tu", "Hà", "Tân", "Ban", "Sao"])
def test_a_word_is_not_taken_for_an_abbreviation(word: str) -> None:
    assert normalize_text(f"{word} trực") == f"{word} trực"


def test_every_reading_is_made_of_vietnamese_syllables() -> None:
    """A reading the listener cannot hear as Vietnamese would be reported as foreign."""
    for key, spoken in [*ABBREVIATIONS, *WORDS]:
        odd = [w for w in spoken.replace(",", " ").split() if not is_syllable(w)]
        assert not odd, (key, odd)


@pytest.mark.parametrize(("key", "spoken"), sorted(DICTIONARY.foreign.items()), ids=sorted(DICTIONARY.foreign))
def test_each_foreign_word_is_reported(key: str, spoken: str) -> None:
    found = normalize(f"Tham gia {key} hôm nay").foreign
    assert [(f.word, f.spoken) for f in found] == [(key, spoken)]
