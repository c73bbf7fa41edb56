"""The commune dictionary: unknown all-caps tokens listed, fixed once, kept in the database
with an audit entry, and applied to every later reading and render."""

from __future__ import annotations

import pytest

from audio.normalize import load_abbreviations
from audio.pipeline import spoken_paragraphs
from audio.settings import AudioSettings
from controller.db import Database
from controller.dictionary import CommuneDictionary
from controller.errors import InputError, NotFound
from controller.plans.bulletins import Bulletins
from controller.reports.audit import AuditTrail

SCRIPT = "HTXKLB Tân Lập thông báo lịch tưới nước.\n\nBà con tham gia Festival hoa cúc và chương trình Green Day."


@pytest.fixture
def store(tmp_path):
    db = Database(tmp_path / "controller.sqlite")
    audit = AuditTrail(db)
    yield CommuneDictionary(db, audit), audit, db
    db.close()


def test_unknown_caps_and_foreign_words_are_listed(store):
    dictionary, _, _ = store
    review = dictionary.review(SCRIPT)
    unknown = {f.word: f for f in review.unknown}
    assert "HTXKLB" in unknown and unknown["HTXKLB"].spoken == "hát tê ích ca e lờ bê"
    assert not unknown["HTXKLB"].in_dictionary and unknown["HTXKLB"].kind == "abbreviation"
    assert {"Festival", "Green"} <= {f.word for f in review.foreign}


def test_a_fix_is_stored_audited_and_read_from_then_on(store, tmp_path):
    dictionary, audit, db = store
    entry = dictionary.put("HTXKLB", "hợp tác xã dịch vụ nông nghiệp", actor="canbo", ip="10.0.0.5")
    assert entry.updated_by == "canbo"
    review = dictionary.review(SCRIPT)
    assert review.normalized.startswith("Hợp tác xã dịch vụ nông nghiệp Tân Lập")
    assert "HTXKLB" not in {f.word for f in review.unknown}
    [logged] = audit.entries(action="dictionary_entry_set")
    assert (logged.actor, logged.target, logged.ip) == ("canbo", "HTXKLB", "10.0.0.5")
    assert logged.details == {"reading": "hợp tác xã dịch vụ nông nghiệp", "kind": "abbreviation"}

    dictionary.put("HTXKLB", "hợp tác xã dịch vụ", actor="chutich")
    newest = audit.entries(action="dictionary_entry_set")[0]
    assert newest.details["old_reading"] == "hợp tác xã dịch vụ nông nghiệp"

    # A new controller on the same file still knows it: the dictionary lives in the database.
    again = CommuneDictionary(Database(tmp_path / "controller.sqlite"), audit)
    assert [e.key for e in again.entries()] == ["HTXKLB"]
    assert spoken_paragraphs("HTXKLB thông báo.", load_abbreviations(), again.local()) == ["Hợp tác xã dịch vụ thông báo."]


def test_a_foreign_word_is_respelled_in_any_case(store):
    dictionary, _, _ = store
    dictionary.put("Festival", "phét-ti-vồn", "foreign", actor="canbo")
    text = dictionary.review("FESTIVAL hoa cúc và Festival trà").normalized
    assert text.lower().count("phét ti vồn") == 2


def test_bulletins_read_and_render_with_the_commune_dictionary(store, tmp_path):
    dictionary, _, db = store
    bulletins = Bulletins(db, tmp_path / "media", AudioSettings(engine="espeak"), local=dictionary.local)
    before = bulletins.prepare("Thông báo của HTXKLB về lịch tưới nước cho bà con.").normalized
    assert "hát tê ích" in before
    dictionary.put("HTXKLB", "hợp tác xã dịch vụ nông nghiệp", actor="canbo")
    after = bulletins.prepare("Thông báo của HTXKLB về lịch tưới nước cho bà con.").normalized
    assert "hợp tác xã dịch vụ nông nghiệp" in after


def test_removal_is_audited_and_the_spelling_comes_back(store):
    dictionary, audit, _ = store
    dictionary.put("HTXKLB", "hợp tác xã dịch vụ nông nghiệp", actor="canbo")
    dictionary.remove("HTXKLB", actor="canbo")
    assert dictionary.entries() == [] and dictionary.local() is None
    assert audit.entries(action="dictionary_entry_removed")[0].details["old_reading"] == "hợp tác xã dịch vụ nông nghiệp"
    with pytest.raises(NotFound):
        dictionary.remove("HTXKLB", actor="canbo")


@pytest.mark.parametrize(("key", "reading", "kind", "field"), [
    ("", "x", "abbreviation", "key"),
    ("ABC", "  ", "abbreviation", "reading"),
    ("ABC", "x" * 201, "abbreviation", "reading"),
    ("A" * 65, "x", "abbreviation", "key"),
    ("ABC", "x", "slang", "kind"),
    ("---", "x", "abbreviation", "key"),
    (12, "x", "abbreviation", "key"),
])
def test_bad_entries_are_refused_in_vietnamese_and_nothing_is_stored(store, key, reading, kind, field):
    dictionary, audit, _ = store
    with pytest.raises(InputError) as exc:
        dictionary.put(key, reading, kind, actor="canbo")
    assert exc.value.field == field and exc.value.message
    assert dictionary.entries() == [] and audit.entries(action="dictionary_entry_set") == []
