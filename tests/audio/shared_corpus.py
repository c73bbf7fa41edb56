"""Where the shared bulletin corpus lives, when this checkout has one beside it.

The corpus sits in ``shared/corpus/bulletins`` next to the repository (or next to the
folder of worktrees); ``LOAXA_SHARED_CORPUS`` points elsewhere.  A clone without it runs
every other test and reports the corpus checks as skipped."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP_REASON = "shared corpus absent"


def corpus_dir() -> Path | None:
    """The bulletin folder, or None when there is none."""
    candidates = [Path(os.environ["LOAXA_SHARED_CORPUS"])] if os.environ.get("LOAXA_SHARED_CORPUS") else []
    candidates += [ROOT.parent / "shared" / "corpus" / "bulletins", ROOT.parent.parent / "shared" / "corpus" / "bulletins"]
    return next((p for p in candidates if p.is_dir() and any(p.glob("*.txt"))), None)
