"""``loaxa corpus check``: the in-repo fixtures speak as their stored baseline, and the
command reports, and on request accepts, every difference."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = ROOT / "tests" / "data" / "documents"
BASELINE = DOCUMENTS / "spoken"


def corpus(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "loaxa", "corpus", "check", *args], capture_output=True, text=True,
                          timeout=120, check=False, cwd=ROOT)


def test_fixtures_speak_as_the_stored_baseline() -> None:
    result = corpus(str(DOCUMENTS), "--baseline", str(BASELINE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    count = len(list(DOCUMENTS.glob("*.txt")))
    assert f"{count} document(s) speak as the baseline" in result.stderr


def test_differences_are_shown_as_a_diff_and_update_accepts_them(tmp_path: Path) -> None:
    folder, baseline = tmp_path / "docs", tmp_path / "spoken"
    folder.mkdir()
    for name in ("an-phu-cv-phong-sot-xuat-huyet.txt", "ninh-hai-tb-lich-tiep-cong-dan.txt"):
        shutil.copy(DOCUMENTS / name, folder / name)
    first = corpus(str(folder), "--baseline", str(baseline))
    assert first.returncode == 1 and "(new)" in first.stderr and "--update" in first.stderr
    assert corpus(str(folder), "--baseline", str(baseline), "--update").returncode == 0
    assert sorted(p.name for p in baseline.iterdir()) == sorted(p.name for p in folder.iterdir())
    assert corpus(str(folder), "--baseline", str(baseline)).returncode == 0

    notice = folder / "an-phu-cv-phong-sot-xuat-huyet.txt"
    notice.write_text(notice.read_text(encoding="utf-8").replace("14 ca", "15 ca"), encoding="utf-8")
    (folder / "ninh-hai-tb-lich-tiep-cong-dan.txt").unlink()
    changed = corpus(str(folder), "--baseline", str(baseline))
    assert changed.returncode == 1
    assert "--- baseline/an-phu-cv-phong-sot-xuat-huyet.txt" in changed.stdout
    assert "-Thời gian gần đây, trên địa bàn xã ghi nhận mười bốn ca" in changed.stdout
    assert "+Thời gian gần đây, trên địa bàn xã ghi nhận mười lăm ca" in changed.stdout
    assert "ninh-hai-tb-lich-tiep-cong-dan.txt (stale)" in changed.stderr

    assert corpus(str(folder), "--baseline", str(baseline), "--update").returncode == 0
    assert not (baseline / "ninh-hai-tb-lich-tiep-cong-dan.txt").exists()
    assert "mười lăm ca" in (baseline / "an-phu-cv-phong-sot-xuat-huyet.txt").read_text(encoding="utf-8")


def test_a_folder_without_documents_is_a_clear_error(tmp_path: Path) -> None:
    result = corpus(str(tmp_path), "--baseline", str(tmp_path / "spoken"))
    assert result.returncode == 2 and "has no .txt documents" in result.stderr
    missing = corpus(str(tmp_path / "absent"), "--baseline", str(tmp_path / "spoken"))
    assert missing.returncode == 2 and "is not a folder of documents" in missing.stderr
