"""Vietnamese text normalization: the table of cases, the number rules, the dictionary."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audio.normalize import DictionaryError, load_abbreviations, normalize_text
from audio.normalize.letters import is_syllable, spell
from audio.normalize.numbers import cardinal

HERE = Path(__file__).parent
CASES_FILE = HERE / "normalize_cases.tsv"
# One table per class of problem, each a family of cases (see docs/audio-text.md).
CLASS_TABLES = {
    "normalize_slashes.tsv": 40,
    "normalize_dots_ranges.tsv": 25,
    "normalize_codes.tsv": 30,
    "normalize_symbols.tsv": 20,
    "normalize_abbreviations.tsv": 40,
    "normalize_sentences.tsv": 45,
    # Sentences from notices and bulletins of other provinces, one table per class.
    "normalize_provinces_slashes.tsv": 60,
    "normalize_provinces_dots_ranges.tsv": 60,
    "normalize_provinces_codes.tsv": 60,
    "normalize_provinces_symbols.tsv": 60,
    "normalize_provinces_abbreviations.tsv": 60,
    "normalize_provinces_sentences.tsv": 45,
    "normalize_addresses.tsv": 25,
    "normalize_registrations.tsv": 25,
    "normalize_definitions.tsv": 20,
    "normalize_weekdays.tsv": 12,
    "normalize_fuels.tsv": 12,
    "normalize_word_clock.tsv": 12,
    "normalize_emergency_numbers.tsv": 12,
    "normalize_born_house.tsv": 12,
    "normalize_hours_of_day.tsv": 12,
    "normalize_hyphen_dates.tsv": 12,
    "normalize_g_hours.tsv": 12,
    "normalize_rounds_context.tsv": 12,
    "normalize_metres_and.tsv": 10,
    "normalize_standing_ratings.tsv": 8,
    "normalize_short_forms.tsv": 14,
    "normalize_grouped_numbers.tsv": 10,
    "normalize_storm_names.tsv": 8,
}


def _table(path: Path) -> list[pytest.param]:
    params = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        written, spoken = line.split("\t")
        params.append(pytest.param(written, spoken, id=f"{path.stem[10:]}:L{number}:{written[:40]}"))
    return params


CASES = _table(CASES_FILE)
CLASS_CASES = [case for name in CLASS_TABLES for case in _table(HERE / name)]


def test_case_table_is_large_enough() -> None:
    assert len(CASES) >= 200


@pytest.mark.parametrize(("name", "least"), CLASS_TABLES.items())
def test_each_class_has_a_family_of_cases(name: str, least: int) -> None:
    assert len(_table(HERE / name)) >= least


@pytest.mark.parametrize(("written", "spoken"), CLASS_CASES)
def test_class_case(written: str, spoken: str) -> None:
    assert normalize_text(written) == spoken


@pytest.mark.parametrize(("written", "spoken"), CASES)
def test_case(written: str, spoken: str) -> None:
    assert normalize_text(written) == spoken


# --- numbers, checked against an independent reader of the words --------------------

_UNIT_WORDS = {"một": 1, "mốt": 1, "hai": 2, "ba": 3, "bốn": 4, "tư": 4, "năm": 5, "lăm": 5,
               "sáu": 6, "bảy": 7, "tám": 8, "chín": 9, "không": 0}


def _below_thousand(words: list[str]) -> int:
    value, i = 0, 0
    if len(words) >= 2 and words[1] == "trăm":
        value, i = _UNIT_WORDS[words[0]] * 100, 2
    rest = words[i:]
    if rest[:1] == ["linh"]:
        assert len(rest) == 2 and rest[1] not in ("mốt", "lăm", "tư"), words
        return value + _UNIT_WORDS[rest[1]]
    if rest[:1] == ["mười"]:
        assert rest[1:] in ([], ["một"], ["hai"], ["ba"], ["bốn"], ["lăm"], ["sáu"], ["bảy"], ["tám"], ["chín"]), words
        return value + 10 + (_UNIT_WORDS[rest[1]] if len(rest) > 1 else 0)
    if len(rest) >= 2 and rest[1] == "mươi":
        assert rest[0] not in ("một", "không"), words
        assert rest[2:] in ([], ["mốt"], ["hai"], ["ba"], ["tư"], ["lăm"], ["sáu"], ["bảy"], ["tám"], ["chín"]), words
        return value + _UNIT_WORDS[rest[0]] * 10 + (_UNIT_WORDS[rest[2]] if len(rest) > 2 else 0)
    assert len(rest) <= 1 and rest[:1] != ["không"] or not value, words
    return value + (_UNIT_WORDS[rest[0]] if rest else 0)


def _read_back(text: str) -> int:
    """Parse Vietnamese number words, asserting the announcer's rules as it goes."""
    words = text.split()
    if words == ["không"]:
        return 0
    if "tỷ" in words:
        k = len(words) - 1 - words[::-1].index("tỷ")
        return _read_back(" ".join(words[:k])) * 10**9 + (_read_back(" ".join(words[k + 1:])) if words[k + 1:] else 0)
    total, group = 0, []
    for word in words:
        if word in ("triệu", "nghìn"):
            total += _below_thousand(group) * (10**6 if word == "triệu" else 1000)
            group = []
        else:
            group.append(word)
    return total + (_below_thousand(group) if group else 0)


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=0, max_value=10**15 - 1))
def test_cardinal_reads_back(n: int) -> None:
    spoken = cardinal(n)
    assert _read_back(spoken) == n, spoken
    assert "một mươi" not in spoken and "mười mốt" not in spoken and "mười lăm mươi" not in spoken


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1000, max_value=10**12))
def test_thousand_separators_do_not_change_the_reading(n: int) -> None:
    dotted = f"{n:,}".replace(",", ".")
    assert normalize_text(dotted) == cardinal(n)


# --- line structure and robustness ---------------------------------------------------


def test_empty_text_stays_empty() -> None:
    assert normalize_text("") == ""


def test_line_for_line_with_empty_lines_and_crlf() -> None:
    text = "Ngày 02/9/2021\r\n\r\n   \r\nCó 15 người\n"
    out = normalize_text(text)
    assert out.split("\n") == ["Ngày hai tháng chín năm hai nghìn không trăm hai mươi mốt", "", "", "Có mười lăm người", ""]


def test_decomposed_unicode_is_read_like_composed() -> None:
    import unicodedata

    text = "Ngày 02/9/2021, UBND tỉnh Thanh Hóa KHÔNG tổ chức"
    assert normalize_text(unicodedata.normalize("NFD", text)) == normalize_text(text)


_ALPHABET = st.sampled_from(list("0123456789") + list(" ./,-:%h'°") + ["C", "m", "km", "ngày", "tháng", "năm", "thứ", "F", "Số", "\t"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=40).map("".join))
def test_no_digit_and_no_line_break_survive(text: str) -> None:
    out = normalize_text(text)
    assert not re.search(r"\d", out), (text, out)
    assert "\n" not in out


def test_very_long_line() -> None:
    line = "Ngày 02/9/2021, UBND xã có 1.250 hộ, gọi 0912 345 678, mưa 50-100 mm; " * 2000
    out = normalize_text(line)
    assert "\n" not in out and not re.search(r"\d", out)
    assert out.count("một nghìn hai trăm năm mươi hộ") == 2000


# --- the dictionary ------------------------------------------------------------------

REQUIRED = ["UBND", "HĐND", "TU", "BCĐ", "TTTT", "TW", "ĐBQH", "KT.", "TM.", "TP.", "VH", "TT", "BYT",
            "F0", "F1", "COVID-19", "SARS-CoV-2", "5K", "SMS", "PC-Covid"]


@pytest.mark.parametrize("key", REQUIRED)
def test_built_in_dictionary_covers(key: str) -> None:
    assert load_abbreviations().lookup(key)


def test_built_in_spoken_forms_are_already_normal() -> None:
    """No entry expands into something that would need normalizing again."""
    dictionary = load_abbreviations()
    for value in [*dictionary.abbreviations.values(), *dictionary.words.values()]:
        assert normalize_text(value).lower() == value.lower(), value


def test_words_match_in_any_case_and_hyphenation() -> None:
    dictionary = load_abbreviations()
    for form in ("COVID-19", "Covid-19", "covid -19", "Covid19", "COVID 19"):
        assert dictionary.lookup(form) == "cô vít mười chín", form


def test_override_adds_replaces_and_removes(tmp_path: Path) -> None:
    override = tmp_path / "local.toml"
    override.write_text(
        'remove = ["VH"]\n[abbreviations]\n"HTXNN" = "hợp tác xã nông nghiệp"\n"TT" = "thị trấn"\n'
        '[words]\n"covid-19" = "cô vít"\n',
        encoding="utf-8",
    )
    dictionary = load_abbreviations(override)
    assert normalize_text("HTXNN TT Phố Lu", dictionary) == "Hợp tác xã nông nghiệp thị trấn Phố Lu"
    assert normalize_text("dịch Covid-19", dictionary) == "dịch cô vít"
    assert normalize_text("Phòng VH", dictionary) == "Phòng vê hát"
    assert normalize_text("Phòng VH") == "Phòng văn hóa"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[abbreviations\n", "not valid TOML"),
        ('[slang]\n"x" = "y"\n', "unknown section"),
        ('[abbreviations]\n"UBND" = 3\n', "one line of text"),
        ('[abbreviations]\n"UBND" = ""\n', "one line of text"),
        ('[words]\n"Covid-19" = "a"\n"covid 19" = "b"\n', "the same word"),
        ("remove = 'TT'\n", "remove must be a list"),
    ],
)
def test_bad_override_is_refused_with_its_path(tmp_path: Path, content: str, message: str) -> None:
    override = tmp_path / "bad.toml"
    override.write_text(content, encoding="utf-8")
    with pytest.raises(DictionaryError, match=message) as info:
        load_abbreviations(override)
    assert str(override) in str(info.value)


def test_missing_override_file(tmp_path: Path) -> None:
    with pytest.raises(DictionaryError, match="not found"):
        load_abbreviations(tmp_path / "absent.toml")


# --- capitals ------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["TRUYỀN", "NGHĨA", "QUYẾT", "KHUYẾN", "ĐƯỢC", "GIỮ", "ỦY", "XUYÊN", "người", "yêu"])
def test_vietnamese_syllables(word: str) -> None:
    assert is_syllable(word)


@pytest.mark.parametrize("word", ["UBND", "ATTT", "SMS", "VTV", "KGVX", "OK", "HIV", "TW"])
def test_acronyms_are_not_syllables(word: str) -> None:
    assert not is_syllable(word)


def test_spelling_uses_vietnamese_letter_names() -> None:
    assert spell("ATTT") == "a tê tê tê"
    assert spell("ĐQ") == "đê quy"
