"""The project's own fixture documents (tests/data/documents) and the phrase score.

Each fixture has its expected script in ``expected/``; the score counts, phrase by
phrase, body kept and apparatus dropped.  The shared corpus, when it is beside the
checkout, is scored against its list of apparatus lines (tests/data/corpus-apparatus)."""

from __future__ import annotations

from pathlib import Path

import pytest

from audio.document import clean_document
from audio.phrases import score, split_phrases
from shared_corpus import SKIP_REASON, corpus_dir

DATA = Path(__file__).resolve().parents[1] / "data"
DOCUMENTS = DATA / "documents"
FIXTURES = sorted(p.name for p in DOCUMENTS.glob("*.txt"))
TARGET = 98.0


def _fixture(name: str) -> tuple[str, str]:
    return (DOCUMENTS / name).read_text(encoding="utf-8"), (DOCUMENTS / "expected" / name).read_text(encoding="utf-8")


def test_there_are_enough_fixtures_from_varied_sources() -> None:
    assert len(FIXTURES) >= 12
    portals = [n for n in FIXTURES if "portal" in n]
    assert len(portals) >= 4 and len(set(n.split("-")[0] for n in FIXTURES)) >= 10


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_gives_its_expected_script(name: str) -> None:
    source, expected = _fixture(name)
    assert clean_document(source).text == expected.rstrip("\n")


@pytest.mark.parametrize("name", FIXTURES)
def test_nothing_is_lost_silently(name: str) -> None:
    """Every phrase of the source is in the script or in what the cleaner reports as removed."""
    source, _ = _fixture(name)
    doc = clean_document(source)
    reported = "\n".join(r.text for r in doc.removed)
    for line, phrase in split_phrases(source):
        in_script = score(phrase, doc.text, apparatus=()).body_kept == 1
        in_removed = score(phrase, reported, apparatus=()).body_kept == 1
        assert in_script or in_removed, (line, phrase)


def test_phrase_accuracy_on_the_fixtures() -> None:
    total = None
    for name in FIXTURES:
        source, expected = _fixture(name)
        result = score(source, clean_document(source).text, expected_script=expected)
        total = result if total is None else total + result
    assert total is not None and total.phrases > 200
    assert total.accuracy >= TARGET, total.wrong
    assert total.body_kept == total.body, [p for p in total.wrong if p.expected_kept]


def test_phrase_accuracy_on_the_shared_corpus() -> None:
    folder = corpus_dir()
    if folder is None:
        pytest.skip(SKIP_REASON)
    total = None
    for path in sorted(folder.glob("*.txt")):
        labels = DATA / "corpus-apparatus" / path.name
        if not labels.exists():
            continue
        source = path.read_text(encoding="utf-8")
        result = score(source, clean_document(source).text, apparatus=labels.read_text(encoding="utf-8").splitlines())
        total = result if total is None else total + result
    if total is None:
        pytest.skip(SKIP_REASON)
    assert total.accuracy >= TARGET, total.wrong
    assert total.body_kept == total.body


def test_the_score_counts_a_surviving_apparatus_line_and_a_lost_body_phrase() -> None:
    source = "UBND XÃ AN HÒA\t\tCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nBà con chú ý phòng bão.\nSáng mai họp thôn."
    result = score(source, "UBND XÃ AN HÒA\n\nBà con chú ý phòng bão.", expected_script="Bà con chú ý phòng bão.\n\nSáng mai họp thôn.")
    assert (result.phrases, result.right, result.body, result.body_kept) == (4, 2, 2, 1)
    assert {p.text for p in result.wrong} == {"UBND XÃ AN HÒA", "Sáng mai họp thôn."}
