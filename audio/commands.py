"""Subcommands of the audio pipeline (normalize, script, render)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the audio subcommands; imports stay inside the handlers."""
