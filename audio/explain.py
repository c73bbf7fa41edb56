"""Why the spoken text is what it is: the report of ``loaxa script --explain``.

A reviewer who hears something odd on the air needs to find the rule that did it without
reading code: every line the cleaner dropped (with its reason and source line) and every
rewrite the normalizer made (with its rule name and script line), then the words no rule
could read and the foreign words, which the compose page lists to the official.
"""

from __future__ import annotations

from audio.document import CleanedDocument
from audio.normalize import Abbreviations, normalize


def explain(doc: CleanedDocument, script: str, dictionary: Abbreviations) -> str:
    """The report, one finding a line, in the order: dropped, rewrites, unknown, foreign."""
    result = normalize(script, dictionary, explain=True)
    lines = [f"dropped  line {r.line} [{r.reason}]: {' / '.join(r.text.splitlines())}" for r in doc.removed]
    lines += [f"rewrite  line {r.line} [{r.rule}]: {r.before} → {r.after}" for r in result.rewrites]
    lines += [f"unknown  line {f.line}: {f.word} → {f.spoken} (chưa rõ cách đọc)" for f in result.unknown]
    lines += [f"foreign  line {f.line}: {f.word} → {f.spoken}" for f in result.foreign]
    counts = (f"{len(doc.removed)} dropped, {len(result.rewrites)} rewrites, "
              f"{len(result.unknown)} unknown, {len(result.foreign)} foreign")
    return "\n".join([*lines, counts]) + "\n"
