"""Ids of the records the controller creates (bulletins, broadcasts, test tones, sources).

Every sub-package makes them, so the one rule lives here, below all of them: a prefix naming
the kind of record, then ten random hex digits.
"""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(5)}"
