"""Regression check of the spoken output of a folder of documents against a stored baseline.

A change to the cleaner or the normalizer that fixes one document can change what is
said for another.  The baseline holds, for each document, exactly what would be spoken
(the cleaned script, normalized, without the commune's intro and outro); the check
re-computes it and shows every difference as a unified diff, so a reviewer reads the
changes in speech, not in code.  After a change that is meant, ``update`` rewrites the
baseline and the diff goes into the same commit.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from audio.normalize import Abbreviations

NOTHING_TO_READ = "(không còn gì để đọc)"
CHANGED, NEW, STALE = "changed", "new", "stale"


@dataclass(frozen=True)
class Difference:
    """One document whose spoken output is not the baseline's (or a baseline left without its document)."""

    name: str
    kind: str
    diff: str


def documents(folder: Path) -> list[Path]:
    """The documents of ``folder``: its ``.txt`` files, not those in subfolders (where baselines live)."""
    return sorted(p for p in folder.glob("*.txt") if p.is_file())


def spoken(text: str, dictionary: "Abbreviations | None" = None) -> str:
    """What would be said for a document, as ``loaxa script --normalized`` prints it."""
    from audio.document import clean_document
    from audio.normalize import normalize_text
    from audio.script import ScriptError, ScriptSettings, build_script

    try:
        script = build_script(clean_document(text), ScriptSettings(), None)
    except ScriptError:
        return NOTHING_TO_READ + "\n"
    return normalize_text(script, dictionary) + "\n"


def _diff(name: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), f"baseline/{name}", f"now/{name}"
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def check(folder: Path, baseline: Path, dictionary: "Abbreviations | None" = None) -> list[Difference]:
    """Every difference between the spoken output of ``folder``'s documents and ``baseline``."""
    found: list[Difference] = []
    names = set()
    for path in documents(folder):
        names.add(path.name)
        now = spoken(path.read_text(encoding="utf-8-sig"), dictionary)
        stored = baseline / path.name
        if not stored.exists():
            found.append(Difference(path.name, NEW, _diff(path.name, "", now)))
            continue
        old = stored.read_text(encoding="utf-8")
        if old != now:
            found.append(Difference(path.name, CHANGED, _diff(path.name, old, now)))
    for stale in documents(baseline) if baseline.is_dir() else []:
        if stale.name not in names:
            found.append(Difference(stale.name, STALE, _diff(stale.name, stale.read_text(encoding="utf-8"), "")))
    return found


def update(folder: Path, baseline: Path, dictionary: "Abbreviations | None" = None) -> list[Difference]:
    """Rewrite ``baseline`` to the current spoken output; returns what changed."""
    found = check(folder, baseline, dictionary)
    baseline.mkdir(parents=True, exist_ok=True)
    for difference in found:
        target = baseline / difference.name
        if difference.kind == STALE:
            target.unlink()
        else:
            target.write_text(spoken((folder / difference.name).read_text(encoding="utf-8-sig"), dictionary), encoding="utf-8")
    return found
