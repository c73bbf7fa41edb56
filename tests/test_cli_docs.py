"""Every ``loaxa`` subcommand is documented in the README's command table."""

from __future__ import annotations

import argparse
from pathlib import Path

from loaxa.cli import build_parser

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_subcommand_is_in_the_readme():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [name for name in sub.choices if f"`loaxa {name}" not in README]
    assert missing == []
