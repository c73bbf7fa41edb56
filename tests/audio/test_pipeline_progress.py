"""The render progress callback on real espeak-ng/ffmpeg renders: every step, in order, and a cache hit at once."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from audio.pipeline import master_upload, render_text
from audio.progress import RenderProgress
from audio.settings import AudioSettings
from support.google_stand_in import GoogleStandIn

TEXT = (
    "Thông báo lịch tiêm chủng\n\n"
    "Trạm y tế xã tổ chức tiêm vắc xin cho trẻ em vào sáng thứ bảy.\n\n"
    "Đề nghị các gia đình đưa trẻ đến đúng giờ.\n\n"
    "Xin trân trọng thông báo."
)
ESPEAK = AudioSettings(engine="espeak")


def stages(events: list[RenderProgress]) -> list[str]:
    """The stages in the order they began (repeats of one stage folded)."""
    out: list[str] = []
    for e in events:
        if not out or out[-1] != e.stage:
            out.append(e.stage)
    return out


def test_a_render_reports_each_step_in_order_and_counts_every_paragraph(tmp_path: Path):
    events: list[RenderProgress] = []
    media = render_text(TEXT, ESPEAK, tmp_path / "media", progress=events.append)
    assert stages(events) == ["normalizing", "speaking", "mastering", "storing", "done"]
    speaking = [e for e in events if e.stage == "speaking"]
    assert [e.done for e in speaking] == [0, 1, 2, 3, 4]
    assert {e.total for e in speaking} == {4}
    assert {e.engine for e in events if e.stage != "normalizing"} == {"espeak"} == {media.engine}
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0, "the bar only grows, and ends full"
    mastering = [e.fraction for e in events if e.stage == "mastering"]
    assert len(set(mastering)) >= 5, "mastering moves the bar pass by pass"
    assert speaking[-1].fraction < 0.1 <= mastering[-1], "with espeak-ng, speaking is a sliver of the time"


def test_a_cache_hit_reports_done_at_once(tmp_path: Path):
    render_text(TEXT, ESPEAK, tmp_path / "media")
    events: list[RenderProgress] = []
    media = render_text(TEXT, ESPEAK, tmp_path / "media", progress=events.append)
    assert media.cached
    assert events == [RenderProgress("normalizing"), RenderProgress("done", engine="espeak", fraction=1.0)]


@pytest.mark.timeout(30)
def test_an_unreachable_google_is_reported_and_the_offline_voice_starts_over(tmp_path: Path):
    with GoogleStandIn(b"") as gone:
        offline = AudioSettings(engine="auto", gtts_endpoint=gone.url, gtts_backoff_s=0.01, gtts_connect_timeout_s=1.0)
    events: list[RenderProgress] = []
    media = render_text("Mất điện từ bảy giờ.\n\nXin thông báo.", offline, tmp_path / "media", progress=events.append)
    assert media.engine == "espeak"
    assert stages(events) == ["normalizing", "speaking", "fallback", "speaking", "mastering", "storing", "done"]
    fallback = next(i for i, e in enumerate(events) if e.stage == "fallback")
    assert events[fallback].engine == "gtts"
    assert {e.engine for e in events[:fallback] if e.stage == "speaking"} == {"gtts"}
    assert [(e.done, e.engine) for e in events[fallback:] if e.stage == "speaking"] == [(0, "espeak"), (1, "espeak"), (2, "espeak")]
    assert events[-1] == RenderProgress("done", engine="espeak", fraction=1.0)
    restarted = [e.fraction for e in events[fallback + 1:]]
    assert restarted[0] == 0.0 and restarted == sorted(restarted), "after the fallback the bar starts over, then only grows"


def test_an_upload_reports_mastering_and_a_failing_callback_does_not_stop_it(tmp_path: Path):
    wav = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "vi", "-w", str(wav), "Xin chào bà con."], check=True, capture_output=True)
    events: list[RenderProgress] = []

    def flaky(event: RenderProgress) -> None:
        events.append(event)
        raise RuntimeError("a broken listener")

    media = master_upload(wav, dataclasses.replace(ESPEAK), tmp_path / "media", progress=flaky)
    assert media.path.is_file()
    assert stages(events) == ["mastering", "storing", "done"]
    assert {e.engine for e in events} == {"upload"}
    assert [e.fraction for e in events] == sorted(e.fraction for e in events)
