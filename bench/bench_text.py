"""Text half of the audio pipeline: how fast bulletins are cleaned and normalized.

The input is the real bulletin corpus (``shared/corpus/bulletins`` beside the repository),
repeated to about 1 MB so that start-up costs do not dominate.

Figures:
- ``normalize_kchars_per_s``: ``normalize_text`` throughput, thousands of characters a second;
- ``normalize_corpus_ms``: normalizing the four corpus bulletins once (a typical day's work);
- ``clean_corpus_ms``: ``clean_document`` on the four bulletins once;
- ``clean_kchars_per_s``: ``clean_document`` throughput on the repeated corpus.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from audio.document import clean_document
from audio.normalize import load_abbreviations, normalize_text

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "bulletins"


def _best_of(runs: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def run() -> dict[str, float]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))]
    if not texts:
        raise SystemExit(f"bulletin corpus not found at {CORPUS}")
    dictionary = load_abbreviations()
    corpus = "\n".join(texts)
    big = "\n".join([corpus] * max(1, 1_000_000 // len(corpus)))
    normalize_once = _best_of(5, lambda: [normalize_text(t, dictionary) for t in texts])
    clean_once = _best_of(5, lambda: [clean_document(t) for t in texts])
    normalize_big = _best_of(2, lambda: normalize_text(big, dictionary))
    clean_big = _best_of(2, lambda: clean_document(big))
    return {
        "normalize_kchars_per_s": len(big) / normalize_big / 1000,
        "normalize_corpus_ms": normalize_once * 1000,
        "clean_corpus_ms": clean_once * 1000,
        "clean_kchars_per_s": len(big) / clean_big / 1000,
    }
