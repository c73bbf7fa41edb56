"""``loaxa corpus check``: the spoken-output regression check of a folder of documents."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from loaxa.cli import CommandError


def _check(args: argparse.Namespace) -> int:
    from audio import corpus
    from audio.commands import _dictionary

    folder, baseline = Path(args.folder), Path(args.baseline)
    if not folder.is_dir():
        raise CommandError(f"{folder} is not a folder of documents")
    if not corpus.documents(folder):
        raise CommandError(f"{folder} has no .txt documents")
    if baseline.exists() and not baseline.is_dir():
        raise CommandError(f"the baseline {baseline} is not a folder")
    dictionary = _dictionary(args.dictionary)
    count = len(corpus.documents(folder))
    if args.update:
        changed = corpus.update(folder, baseline, dictionary)
        sys.stderr.write(f"baseline {baseline}: {len(changed)} file(s) rewritten or removed, {count} document(s)\n")
        return 0
    found = corpus.check(folder, baseline, dictionary)
    for difference in found:
        sys.stdout.write(difference.diff)
    sys.stdout.flush()
    if found:
        kinds = ", ".join(f"{d.name} ({d.kind})" for d in found)
        sys.stderr.write(
            f"{len(found)} difference(s) from the baseline in {count} document(s): {kinds}\n"
            f"if they are meant, run: loaxa corpus check {folder} --baseline {baseline} --update\n"
        )
        return 1
    sys.stderr.write(f"{count} document(s) speak as the baseline\n")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``loaxa corpus check``."""
    parser = sub.add_parser(
        "corpus",
        help="regression checks over a folder of documents",
        description="Quality checks run over a folder of bulletins (.txt files directly in it).",
    )
    actions = parser.add_subparsers(dest="corpus_command", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check",
        help="compare the spoken output of every document with a stored baseline",
        description="Clean, script and normalize every .txt document of FOLDER and compare what would be spoken "
        "with the file of the same name in the baseline folder. Prints the differences as unified diffs and exits "
        "with 1 when there are any; --update rewrites the baseline instead.",
    )
    check.add_argument("folder", metavar="FOLDER", help="folder of .txt documents")
    check.add_argument("--baseline", metavar="DIR", required=True, help="folder of the stored spoken outputs")
    check.add_argument("--update", action="store_true", help="rewrite the baseline to the current output")
    check.add_argument("--dictionary", metavar="FILE", type=Path,
                       help="TOML file of abbreviations that add to or replace the built-in dictionary")
    check.set_defaults(func=_check)
