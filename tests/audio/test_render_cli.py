"""``loaxa render`` through the installed console script, offline, with real espeak-ng and ffmpeg."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from support.google_stand_in import GoogleStandIn
from support.loudness import analyse, stream

ROOT = Path(__file__).resolve().parents[2]
LOAXA = next((p for p in (Path(sys.executable).parent / "loaxa", ROOT / ".venv" / "bin" / "loaxa") if p.exists()),
             ROOT / ".venv" / "bin" / "loaxa")
BULLETIN = "Thông báo lịch tiêm vắc xin\n\nTrạm y tế xã tổ chức tiêm vắc xin cho trẻ em vào sáng thứ bảy.\n"
OUTPUT_RE = re.compile(
    r"engine: (?P<engine>\w+)(?P<offline> \(offline voice\))?\n"
    r"duration: (?P<duration>[\d.]+) s\n"
    r"loudness: (?P<lufs>-?[\d.]+) LUFS, true peak (?P<tp>-?[\d.]+) dBTP\n"
    r"output: (?P<output>.+)\n\Z"
)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LOAXA_")}
    return {**clean, "XDG_CACHE_HOME": str(tmp_path / "cache")}


@pytest.fixture
def bulletin(tmp_path: Path) -> Path:
    path = tmp_path / "thong-bao.txt"
    path.write_text(BULLETIN, encoding="utf-8")
    return path


def loaxa(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LOAXA), "render", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_render_prints_engine_duration_loudness_and_path(env: dict[str, str], bulletin: Path, tmp_path: Path):
    out = tmp_path / "ban-tin.ogg"
    done = loaxa(env, str(bulletin), "-o", str(out), "--engine", "espeak")
    assert done.returncode == 0, done.stderr
    shown = OUTPUT_RE.match(done.stdout)
    assert shown, done.stdout
    assert shown["engine"] == "espeak" and shown["offline"]
    assert Path(shown["output"]) == out
    info = stream(out)
    assert (info["format"], info["codec"], info["channels"]) == ("ogg", "opus", 1)
    assert float(shown["duration"]) == pytest.approx(info["duration"], abs=0.1)
    loudness, true_peak = analyse(out)
    assert float(shown["lufs"]) == pytest.approx(loudness, abs=0.3)
    assert loudness == pytest.approx(-16.0, abs=1.0) and true_peak <= -1.0


def test_default_output_is_named_after_the_bulletin(env: dict[str, str], bulletin: Path, tmp_path: Path):
    work = tmp_path / "work"
    work.mkdir()
    done = loaxa(env, str(bulletin), "--engine", "espeak", cwd=work)
    assert done.returncode == 0, done.stderr
    assert (work / "thong-bao.ogg").is_file()


def test_the_commune_gets_its_intro_and_its_slower_speech(env: dict[str, str], bulletin: Path, tmp_path: Path):
    plain = loaxa(env, str(bulletin), "-o", str(tmp_path / "plain.ogg"), "--engine", "espeak")
    framed = loaxa(env, str(bulletin), "-o", str(tmp_path / "framed.ogg"), "--engine", "espeak", "--commune", "Tân Lập")
    slow_env = {**env, "LOAXA_AUDIO_COMMUNE_SPEECH_RATE": "Tân Lập=0.7"}
    slow = loaxa(slow_env, str(bulletin), "-o", str(tmp_path / "slow.ogg"), "--engine", "espeak", "--commune", "tân lập")
    durations = [float(OUTPUT_RE.match(d.stdout)["duration"]) for d in (plain, framed, slow)]
    assert durations[1] > durations[0] + 3  # the intro and outro are read
    assert durations[2] > durations[1] * 1.2


@pytest.mark.timeout(60)
def test_offline_auto_falls_back_but_gtts_alone_fails_clearly(env: dict[str, str], bulletin: Path, tmp_path: Path):
    with GoogleStandIn(b"") as gone:
        offline = {**env, "LOAXA_AUDIO_GTTS_ENDPOINT": gone.url}
    auto = loaxa(offline, str(bulletin), "-o", str(tmp_path / "auto.ogg"))
    assert auto.returncode == 0, auto.stderr
    assert auto.stdout.startswith("engine: espeak (offline voice)\n")
    refused = loaxa(offline, str(bulletin), "-o", str(tmp_path / "gtts.ogg"), "--engine", "gtts")
    assert refused.returncode == 2
    assert "loaxa render: no speech engine could speak: gtts: cannot reach 127.0.0.1" in refused.stderr
    assert refused.stdout == "" and not (tmp_path / "gtts.ogg").exists()


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("empty", "the bulletin is empty"),
        ("missing", "file not found"),
        ("bad-setting", "[audio] speech_rate = 9.0 is outside 0.5..2.0"),
        ("overwrite", "would overwrite the bulletin"),
    ],
)
def test_bad_input_gets_a_clear_error(env: dict[str, str], tmp_path: Path, setup: str, message: str):
    source = tmp_path / "b.txt"
    source.write_text("" if setup == "empty" else BULLETIN, encoding="utf-8")
    args = [str(source) if setup != "missing" else str(tmp_path / "nope.txt"), "--engine", "espeak"]
    if setup == "bad-setting":
        env = {**env, "LOAXA_AUDIO_SPEECH_RATE": "9"}
    if setup == "overwrite":
        args += ["-o", str(source)]
    done = loaxa(env, *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert source.read_text(encoding="utf-8") == ("" if setup == "empty" else BULLETIN)
