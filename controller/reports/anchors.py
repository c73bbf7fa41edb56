"""Checks of retention anchors: an anchor is believed only with its evidence.

An anchor (``chain_anchors``) lets verification start past rows retention deleted.  One
inserted by hand would let an insider delete history and still pass, so an anchor is
valid only when all three hold:

- its signature, over :func:`controller.reports.hashchain.anchor_content`, verifies with
  a key this controller has signed with (the current key or a retired public half);
- the newest row it covers was older than ``minimum_days`` when it was made, and it was
  not made in the future;
- a ``retention_pruned`` audit entry (itself inside the verified audit chain) names it
  with the same length, hash and last row id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

import sqlite_utils

from controller.reports import hashchain
from loaxa import protocol
from loaxa.protocol import ProtocolError, parse_time, utcnow


@dataclass(frozen=True)
class AnchorCheck:
    chain: str
    length: int
    hash: str
    last_id: int
    pruned_at: str
    newest_at: str
    kid: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        state = "valid" if self.ok else "INVALID: " + "; ".join(self.problems)
        return (f"anchor {self.chain}: {self.length} rows pruned up to id {self.last_id}, hash {self.hash}, "
                f"pruned at {self.pruned_at or '?'} (newest row {self.newest_at or '?'}), "
                f"signed by {self.kid or 'nobody'}: {state}")


def _named_anchors(db: sqlite_utils.Database) -> list[Mapping[str, Any]]:
    out = []
    for (details,) in db.execute("SELECT details FROM audit_log WHERE action = 'retention_pruned' ORDER BY id DESC"):
        try:
            named = json.loads(details).get("anchors")
        except (ValueError, AttributeError):
            continue
        if isinstance(named, dict):
            out.append(named)
    return out


def _age_problem(pruned_at: str, newest_at: str, minimum_days: int, now: datetime) -> str | None:
    try:
        made, newest = parse_time(pruned_at, "pruned_at"), parse_time(newest_at, "newest_at")
    except ProtocolError:
        return "no valid times recorded"
    if made > now + timedelta(minutes=5):
        return f"made in the future ({pruned_at})"
    if made - newest < timedelta(days=minimum_days):
        return f"covers rows younger than {minimum_days} days when it was made"
    return None


def check_anchors(db: sqlite_utils.Database, spec: hashchain.ChainSpec, keys: Mapping[str, Any] | None,
                  minimum_days: int, now: datetime | None = None) -> list[AnchorCheck]:
    """Every anchor of ``spec.table`` with what is wrong with it; ``keys`` None skips the signature check."""
    now = now or utcnow()
    named = _named_anchors(db)
    prefix = f"{spec.table}:"
    checks = []
    for chain, length, hash_, last_id, pruned_at, newest_at, kid, sig in db.execute(
            "SELECT chain, length, hash, last_id, pruned_at, newest_at, kid, sig FROM chain_anchors "
            "WHERE substr(chain, 1, ?) = ? ORDER BY chain", [len(prefix), prefix]):
        problems = []
        if keys is not None:
            key = keys.get(kid)
            content = hashchain.anchor_content(chain, length, hash_, last_id, pruned_at, newest_at)
            if not sig:
                problems.append("not signed")
            elif key is None:
                problems.append(f"signed by an unknown key {kid!r}")
            elif not protocol.verify_detached(key, content, sig):
                problems.append("bad signature")
        age = _age_problem(pruned_at, newest_at, minimum_days, now)
        if age:
            problems.append(age)
        expected = {"length": length, "hash": hash_, "last_id": last_id}
        if not any(n.get(chain) == expected for n in named):
            problems.append("no retention_pruned audit entry names it")
        checks.append(AnchorCheck(chain, length, hash_, last_id, pruned_at, newest_at, kid, tuple(problems)))
    return checks
