"""An independent loudness check for tests: ffmpeg's ``loudnorm`` analysis (the code under test uses ``ebur128``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def analyse(path: Path) -> tuple[float, float]:
    """(integrated loudness in LUFS, true peak in dBTP) of a file."""
    done = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-i", str(path), "-af", "loudnorm=print_format=json", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )
    report = json.loads(done.stderr[done.stderr.rindex("{"):])
    return float(report["input_i"]), float(report["input_tp"])


def stream(path: Path) -> dict:
    """Codec, sample rate and channels of the first audio stream, and the duration."""
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
         "stream=codec_name,sample_rate,channels:format=duration,format_name", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )
    info = json.loads(done.stdout)
    s = info["streams"][0]
    return {"codec": s["codec_name"], "rate": int(s["sample_rate"]), "channels": s["channels"],
            "duration": float(info["format"]["duration"]), "format": info["format"]["format_name"]}


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True, capture_output=True)
