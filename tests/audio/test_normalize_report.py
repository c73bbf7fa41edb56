"""What the normalizer reports besides the text: unknown words, foreign words, rewrites,
the commune's own dictionary, and ``loaxa script --explain`` built on them."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from audio.normalize import RULES, Abbreviations, DictionaryError, Finding, Normalized, normalize, normalize_text

NOTICE = Path(__file__).with_name("explain_notice.txt")


def test_result_is_frozen_and_normalize_text_agrees() -> None:
    text = "UBND xã thông báo\n\nLịch tiêm ngày 12/3"
    result = normalize(text)
    assert isinstance(result, Normalized)
    assert result.text == normalize_text(text)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.text = ""  # type: ignore[misc]


def test_unknown_capitals_are_spelled_and_listed_once_with_their_line() -> None:
    result = normalize("Đài VXYK phát sóng\nĐài VXYK và QWT")
    assert "vê ích i ca" in result.text
    assert result.unknown == (Finding("VXYK", "vê ích i ca", 1), Finding("QWT", "quy vê kép tê", 2))


@pytest.mark.parametrize("text", ["UBND xã Tân Lập", "KẾ HOẠCH TUYÊN TRUYỀN", "giống OM 5451", "cúm H5N1",
                                  "Km 42+150 QL14", "mức BĐ2", "quý III/2025", "thẻ BHYT", "Ubnd xã"])
def test_explained_capitals_are_not_unknown(text: str) -> None:
    assert normalize(text).unknown == ()


def test_foreign_words_from_the_table_and_beyond_it() -> None:
    result = normalize("Giải Marathon do Samsung và Qwerty tài trợ, xem trên Facebook")
    assert [(f.word, f.spoken) for f in result.foreign] == [
        ("Marathon", "ma ra tông"), ("Samsung", "sam sung"), ("Facebook", "phây búc"), ("Qwerty", "Qwerty")]


def test_vietnamese_and_place_names_are_not_foreign() -> None:
    assert normalize("Bà con xã Ea Kar, huyện Krông Pắc, tỉnh Đắk Lắk và Kon Tum chú ý").foreign == ()


def test_the_commune_dictionary_comes_first() -> None:
    local = {"HTXNN": "hợp tác xã nông nghiệp", "ĐT 605": "đường tỉnh lộ sáu linh năm", "VXYK": "Đài Văn Xuân"}
    result = normalize("HTXNN Tân Lập sửa ĐT 605, Đài VXYK đưa tin", local=local)
    assert result.text == "Hợp tác xã nông nghiệp Tân Lập sửa đường tỉnh lộ sáu linh năm, Đài Đài Văn Xuân đưa tin"
    assert result.unknown == ()


def test_the_commune_dictionary_matches_mixed_case_and_takes_an_abbreviations_object() -> None:
    local = Abbreviations.from_mapping({"HTXNN": "hợp tác xã nông nghiệp"})
    assert normalize("Htxnn Tân Lập", local=local).text == "Hợp tác xã nông nghiệp Tân Lập"


@pytest.mark.parametrize("entry", [{"": "x"}, {"ABC": ""}, {"ABC": "hai\ndòng"}])
def test_a_bad_commune_entry_is_refused(entry: dict[str, str]) -> None:
    with pytest.raises(DictionaryError):
        normalize("ABC", local=entry)


def test_rewrites_name_their_rule() -> None:
    result = normalize("Bón 15 kg/sào từ 8-12/3 tại Km 42+150", explain=True)
    rules = {r.rule for r in result.rewrites}
    assert {"slashes", "day-ranges", "roads", "quantities", "numbers"} <= rules
    assert rules <= set(RULES)
    slash = next(r for r in result.rewrites if r.rule == "slashes")
    assert (slash.before, slash.after, slash.line) == ("kg/sào", "kg trên sào", 1)
    assert normalize("Bón 15 kg/sào").rewrites == ()


def _script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "loaxa", "script", *args], capture_output=True, text=True,
                          timeout=120, check=False)


def test_script_explain_lists_drops_rewrites_and_findings() -> None:
    result = _script("--explain", str(NOTICE))
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert "dropped  line 13 [Nơi nhận]: Nơi nhận: / - Như trên; / - Lưu: VT." in out
    assert any(line.startswith("dropped  line 16 [Chữ ký]: TM. ỦY BAN NHÂN DÂN") for line in out)
    assert "rewrite  line 3 [slashes]: đồng/liều. → đồng trên liều." in out
    assert "rewrite  line 3 [dictionary]: TYT → Trạm Y tế" in out
    assert "foreign  line 3: Festival → phét ti van" in out
    assert out[-1].endswith("1 foreign") and "6 dropped" in out[-1]


def test_script_without_explain_is_unchanged() -> None:
    plain = _script(str(NOTICE))
    assert plain.returncode == 0
    assert "dropped" not in plain.stdout and "Từ 8-12/3" in plain.stdout
