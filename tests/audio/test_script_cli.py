"""``loaxa script`` and ``loaxa normalize`` through the installed console script, and the
script builder behind them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from audio.document import CleanedDocument
from audio.normalize import load_abbreviations
from audio.script import ScriptError, ScriptSettings, build_script
from loaxa.config import ConfigError, load_config
from shared_corpus import SKIP_REASON, corpus_dir

ROOT = Path(__file__).resolve().parents[2]
# The console script installed beside the interpreter running the tests (.venv/bin/loaxa).
LOAXA = next((p for p in (Path(sys.executable).parent / "loaxa", ROOT / ".venv" / "bin" / "loaxa") if p.exists()),
             ROOT / ".venv" / "bin" / "loaxa")
CORPUS = corpus_dir() or ROOT.parent / "shared" / "corpus" / "bulletins"
BULLETINS = sorted(p.name for p in CORPUS.glob("*.txt")) if CORPUS.exists() else []

# One body sentence from each bulletin, checked in the printed script.
BODY = {
    "kiengiang-2021-10-ke-hoach-33-kh-tu.txt": "Phó Chủ tịch UBND tỉnh Nguyễn Lưu Trung có ý kiến chỉ đạo như sau:",
    "laocai-2022-01-ke-hoach-truyen-thong-tet.txt": "Đề nghị các cơ quan, đơn vị, địa phương:",
    "tbtt-2021-09-ke-hoach-thich-ung-an-toan.txt": "- Tiếp tục cập nhật thông tin về các biện pháp phòng, chống dịch cho người dân.",
    "thanhhoa-2021-09-phuong-an-tuyen-truyen.txt": "Theo đó, phương án xây dựng nhằm tạo sự thống nhất trong nhận thức",
}
NOT_IN_SCRIPT = re.compile(
    r"Nơi nhận|Kính gửi|^Số\s*:|Lưu:|\*|https?://|\[bookmark|KT\.|T/M|Độc lập - Tự do|CỘNG HÒA|Ảnh minh họa",
    re.MULTILINE,
)


def loaxa(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(LOAXA), *args], input=stdin, capture_output=True, timeout=120, check=False)


def _text(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode("utf-8")


def _needs_corpus() -> None:
    if not BULLETINS:
        pytest.skip(SKIP_REASON)


@pytest.fixture(scope="module", params=list(BODY))
def bulletin(request: pytest.FixtureRequest) -> Path:
    _needs_corpus()
    return CORPUS / request.param


# --- golden tests on the corpus ------------------------------------------------------


def test_script_keeps_body_and_drops_apparatus(bulletin: Path) -> None:
    script = _text(loaxa("script", str(bulletin)))
    assert BODY[bulletin.name] in script
    assert not NOT_IN_SCRIPT.search(script), NOT_IN_SCRIPT.search(script)
    assert "\n\n\n" not in script and script.endswith("\n")


def test_normalized_script_has_no_digits(bulletin: Path) -> None:
    spoken = _text(loaxa("script", "--normalized", "--commune", "Tân Lập", str(bulletin)))
    kept = [v for v in load_abbreviations().abbreviations.values() if re.search(r"\d", v)]
    for value in kept:
        spoken = spoken.replace(value, "")
    assert not re.search(r"\d", spoken)
    assert spoken.startswith("Đài Truyền thanh xã Tân Lập xin thông báo:\n\n")
    assert spoken.rstrip().endswith("Xin cảm ơn bà con đã chú ý lắng nghe.")
    assert not re.search(r"\b(?:UBND|HĐND|COVID|TTTT|BCĐ)\b", spoken)


def test_normalized_is_the_normalization_of_the_script(bulletin: Path) -> None:
    script = _text(loaxa("script", str(bulletin)))
    spoken = _text(loaxa("script", "--normalized", str(bulletin)))
    assert spoken == _text(loaxa("normalize", stdin=script.encode("utf-8")))
    assert len(spoken.split("\n")) == len(script.split("\n"))


def test_script_from_stdin_matches_file() -> None:
    _needs_corpus()
    path = CORPUS / BULLETINS[0]
    assert _text(loaxa("script", "-", stdin=path.read_bytes())) == _text(loaxa("script", str(path)))


def test_repeat_reads_the_bulletin_twice() -> None:
    _needs_corpus()
    path = CORPUS / "thanhhoa-2021-09-phuong-an-tuyen-truyen.txt"
    script = _text(loaxa("script", "--repeat", "--commune", "Tân Lập", str(path)))
    paragraphs = script.strip().split("\n\n")
    assert paragraphs.count("Sau đây, Đài Truyền thanh xã Tân Lập xin nhắc lại:") == 1
    assert script.count(BODY[path.name]) == 2


def test_show_removed_lists_reasons_on_stderr() -> None:
    _needs_corpus()
    result = loaxa("script", "--show-removed", str(CORPUS / "kiengiang-2021-10-ke-hoach-33-kh-tu.txt"))
    err = result.stderr.decode("utf-8")
    assert result.returncode == 0
    assert "[Nơi nhận] dòng 31: Nơi nhận:" in err
    assert "[Chữ ký] dòng 41: KT. CHÁNH VĂN PHÒNG" in err
    assert "Nơi nhận" not in result.stdout.decode("utf-8")


# --- loaxa normalize -----------------------------------------------------------------


def test_normalize_is_line_for_line() -> None:
    text = "Ngày 02/9/2021\n\nCó 105 hộ, 24 người\n\n\nGọi 0912 345 678\n"
    out = _text(loaxa("normalize", stdin=text.encode("utf-8")))
    assert out == (
        "Ngày hai tháng chín năm hai nghìn không trăm hai mươi mốt\n\n"
        "Có một trăm linh năm hộ, hai mươi tư người\n\n\n"
        "Gọi không chín một hai, ba bốn năm, sáu bảy tám\n"
    )


def test_normalize_empty_input() -> None:
    result = loaxa("normalize")
    assert result.returncode == 0 and result.stdout == b""


def test_normalize_accepts_a_byte_order_mark() -> None:
    assert _text(loaxa("normalize", stdin="\ufeff15 người".encode("utf-8"))) == "mười lăm người"


def test_normalize_refuses_invalid_utf8() -> None:
    result = loaxa("normalize", stdin="Ngày 2/9\n".encode("utf-8") + "Thông báo".encode("cp1258"))
    assert result.returncode == 2
    assert result.stdout == b""
    err = result.stderr.decode("utf-8")
    assert "not UTF-8" in err and "line 2" in err


def test_normalize_very_long_input() -> None:
    line = "Ngày 02/9/2021, UBND xã có 1.250 hộ; mưa 50-100 mm; gọi 0912 345 678; COVID-19 (F0, F1)."
    text = "\n".join([line, ""] * 5000) + "\n"
    out = _text(loaxa("normalize", stdin=text.encode("utf-8")))
    lines = out.split("\n")
    assert len(lines) == len(text.split("\n"))
    assert lines[0] == lines[-3] and lines[1] == ""
    assert not re.search(r"\d", out)


def test_normalize_with_override_dictionary(tmp_path: Path) -> None:
    override = tmp_path / "xa.toml"
    override.write_text('[abbreviations]\n"HTXNN" = "hợp tác xã nông nghiệp"\n', encoding="utf-8")
    out = _text(loaxa("normalize", "--dictionary", str(override), stdin="Các HTXNN họp".encode("utf-8")))
    assert out == "Các hợp tác xã nông nghiệp họp"


def test_normalize_with_broken_dictionary(tmp_path: Path) -> None:
    override = tmp_path / "xa.toml"
    override.write_text("[abbreviations\n", encoding="utf-8")
    result = loaxa("normalize", "--dictionary", str(override), stdin=b"x")
    assert result.returncode == 2
    assert "not valid TOML" in result.stderr.decode("utf-8") and str(override) in result.stderr.decode("utf-8")


# --- loaxa script: bad input ---------------------------------------------------------


def test_script_empty_input() -> None:
    result = loaxa("script", "-", stdin=b" \n\n")
    assert result.returncode == 2
    assert "empty" in result.stderr.decode("utf-8") and result.stdout == b""


def test_script_nothing_left_after_cleaning() -> None:
    result = loaxa("script", "-", stdin="Nơi nhận:\n- Như trên;\n- Lưu: VT.\n".encode("utf-8"))
    assert result.returncode == 2
    assert "nothing to read" in result.stderr.decode("utf-8")


def test_script_missing_file(tmp_path: Path) -> None:
    result = loaxa("script", str(tmp_path / "absent.txt"))
    assert result.returncode == 2 and "file not found" in result.stderr.decode("utf-8")


def test_script_invalid_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "cp1258.txt"
    path.write_bytes("Thông báo".encode("cp1258"))
    result = loaxa("script", str(path))
    assert result.returncode == 2
    assert f"{path} is not UTF-8" in result.stderr.decode("utf-8")


def test_script_refuses_a_multi_line_commune() -> None:
    result = loaxa("script", "-", "--commune", "Tân\nLập", stdin="Bà con chú ý.".encode("utf-8"))
    assert result.returncode == 2 and "commune name" in result.stderr.decode("utf-8")


def test_commands_are_listed_in_help() -> None:
    out = _text(loaxa("--help"))
    assert "normalize" in out and "script" in out
    assert "--normalized" in _text(loaxa("script", "--help"))


# --- build_script --------------------------------------------------------------------

DOC = CleanedDocument("Thông báo lịch tiêm.", ("Đoạn một.", "Đoạn hai."))


def test_build_script_without_commune_is_title_and_body() -> None:
    assert build_script(DOC, ScriptSettings(), None) == "Thông báo lịch tiêm.\n\nĐoạn một.\n\nĐoạn hai."
    assert build_script(DOC, ScriptSettings(), "   ") == build_script(DOC, ScriptSettings(), None)


def test_build_script_with_commune_and_repeat() -> None:
    settings = ScriptSettings(repeat=True)
    parts = build_script(DOC, settings, "  Tân   Lập ").split("\n\n")
    assert parts == [
        "Đài Truyền thanh xã Tân Lập xin thông báo:",
        "Thông báo lịch tiêm.", "Đoạn một.", "Đoạn hai.",
        "Sau đây, Đài Truyền thanh xã Tân Lập xin nhắc lại:",
        "Thông báo lịch tiêm.", "Đoạn một.", "Đoạn hai.",
        "Đài Truyền thanh xã Tân Lập vừa thông báo Thông báo lịch tiêm. Xin cảm ơn bà con đã chú ý lắng nghe.",
    ]


def test_repeat_without_commune_uses_a_neutral_announcement() -> None:
    parts = build_script(DOC, ScriptSettings(repeat=True), None).split("\n\n")
    assert parts[3] == "Xin nhắc lại:" and parts[4:] == parts[:3]


def test_custom_templates_and_empty_title() -> None:
    settings = ScriptSettings(intro="Loa phường {tên xã} thông báo:", outro="Hết tin {title}.")
    script = build_script(CleanedDocument("", ("Mất điện chiều nay.",)), settings, "Bến Thành")
    assert script == "Loa phường Bến Thành thông báo:\n\nMất điện chiều nay.\n\nHết tin."


def test_empty_document_is_refused() -> None:
    with pytest.raises(ScriptError, match="nothing to read"):
        build_script(CleanedDocument("", ()), ScriptSettings(), "Tân Lập")


def test_unknown_placeholder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="intro.*unknown placeholder"):
        ScriptSettings(intro="Đài {xa} thông báo")
    path = tmp_path / "script.toml"
    path.write_text('intro = "Đài xã {xã} kính báo:"\nrepeat = true\n', encoding="utf-8")
    loaded = load_config(ScriptSettings, path, env={})
    assert loaded.intro == "Đài xã {xã} kính báo:" and loaded.repeat is True


def test_cli_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, argparse, audio.commands as c; p = argparse.ArgumentParser(); c.register(p.add_subparsers()); "
        "print(sorted(m for m in sys.modules if m.startswith('audio.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "['audio.commands']"


def test_settings_name_the_local_dictionary(tmp_path: Path) -> None:
    local = tmp_path / "xa.toml"
    local.write_text('[abbreviations]\n"HTXNN" = "hợp tác xã nông nghiệp"\n', encoding="utf-8")
    assert ScriptSettings(abbreviations_file=str(local)).dictionary().lookup("HTXNN") == "hợp tác xã nông nghiệp"
    assert ScriptSettings().dictionary() is load_abbreviations()
