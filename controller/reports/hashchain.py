"""Hash chains that make append-only tables tamper-evident.

Each row stores ``prev_hash`` (the hash of the row before it in its chain) and ``hash``
(SHA-256 over ``prev_hash`` and the row's content).  Editing a row breaks its own hash;
inserting or deleting one breaks the link of the row after it.  The head of every chain
(length and last hash) is kept in ``chain_heads``, updated in the same transaction as the
rows, so deleting the newest rows is caught too, and appending needs one indexed read per
batch instead of a scan.  Someone who can rewrite the file *and* recompute every later hash
and the head is caught only by comparing the head with a copy kept elsewhere
(``loaxa audit verify`` prints it for that purpose).

Retention prunes whole prefixes of a chain and records the pruned prefix's length and last
hash as the chain's *anchor* (``chain_anchors``): verification then starts from the anchor
instead of the genesis hash, so what remains is checked exactly as before.  An anchor
also records when it was made and the newest pruned row's time, signed by the
controller's key (:func:`anchor_content` is what is signed), so one inserted by hand does
not pass verification (see :mod:`controller.reports.anchors`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import sqlite_utils

GENESIS = "0" * 64


def canonical(content: Mapping[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def link(prev_hash: str, content: Mapping[str, Any]) -> str:
    """The hash of a row whose predecessor has ``prev_hash``."""
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical(content)).hexdigest()


@dataclass(frozen=True)
class ChainSpec:
    """Which table is chained, which columns are hashed, and which column (if any) splits it into chains."""

    table: str
    fields: tuple[str, ...]
    chain_of: Callable[[Mapping[str, Any]], str]
    real_fields: tuple[str, ...] = ()

    def content(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The hashed part of a row; REAL columns as floats so a stored 12 and a sent 12.0 agree."""
        out = {f: row.get(f) for f in self.fields}
        for f in self.real_fields:
            if out[f] is not None:
                out[f] = float(out[f])
        return out


def head(db: sqlite_utils.Database, chain: str) -> tuple[int, str]:
    row = db.execute("SELECT length, head FROM chain_heads WHERE chain = ?", [chain]).fetchone()
    return (row[0], row[1]) if row else (0, GENESIS)


def set_head(db: sqlite_utils.Database, chain: str, length: int, last: str) -> None:
    db.execute(
        "INSERT INTO chain_heads(chain, length, head) VALUES (?, ?, ?) "
        "ON CONFLICT(chain) DO UPDATE SET length = excluded.length, head = excluded.head",
        [chain, length, last],
    )


def chain_key(spec: ChainSpec, chain: str) -> str:
    return f"{spec.table}:{chain}"


@dataclass(frozen=True)
class Anchor:
    """Where a pruned chain now starts: rows pruned so far, the last pruned row's hash and id."""

    length: int = 0
    hash: str = GENESIS
    last_id: int = 0


def anchors(db: sqlite_utils.Database, spec: ChainSpec) -> dict[str, Anchor]:
    prefix = f"{spec.table}:"
    return {r[0][len(prefix):]: Anchor(r[1], r[2], r[3]) for r in db.execute(
        "SELECT chain, length, hash, last_id FROM chain_anchors WHERE substr(chain, 1, ?) = ?", [len(prefix), prefix])}


def prefix_intact(db: sqlite_utils.Database, spec: ChainSpec, chain: str, chain_where: str, params: list[Any],
                  keep_from_id: int | None) -> bool:
    """Whether one chain's rows below ``keep_from_id`` (all, if None) link up from its anchor and are unchanged.

    Checks only what pruning would remove, plus the link of the first row kept (or, when the
    whole chain goes, its recorded head), so a daily prune costs what it deletes, not a full
    verification.
    """
    key = chain_key(spec, chain)
    row = db.execute("SELECT length, hash FROM chain_anchors WHERE chain = ?", [key]).fetchone()
    length, last = (row[0], row[1]) if row else (0, GENESIS)
    bound, bound_params = ("", []) if keep_from_id is None else (" AND id < ?", [keep_from_id])
    cols = ", ".join(("prev_hash", "hash", *spec.fields))
    cursor = db.execute(f"SELECT {cols} FROM {spec.table} WHERE {chain_where}{bound} ORDER BY id",
                        [*params, *bound_params])
    names = [d[0] for d in cursor.description]
    for values in cursor:
        r = dict(zip(names, values))
        if r["prev_hash"] != last or r["hash"] != link(last, spec.content(r)):
            return False
        last, length = r["hash"], length + 1
    if keep_from_id is not None:
        kept = db.execute(f"SELECT prev_hash FROM {spec.table} WHERE id = ?", [keep_from_id]).fetchone()
        return kept is not None and kept[0] == last
    return head(db, key) == (length, last)


def anchor_content(chain: str, length: int, hash_: str, last_id: int, pruned_at: str, newest_at: str) -> bytes:
    """The bytes an anchor's signature covers (with a prefix no other signed record has)."""
    return b"loaxa-chain-anchor\n" + canonical({"chain": chain, "length": length, "hash": hash_, "last_id": last_id,
                                                 "pruned_at": pruned_at, "newest_at": newest_at})


Sign = Callable[[bytes], tuple[str, str]]  # data -> (key id, base64 signature)


def prune_prefix(db: sqlite_utils.Database, spec: ChainSpec, chain: str, chain_where: str, params: list[Any],
                 keep_from_id: int | None, at: str, time_columns: tuple[str, ...] = (),
                 sign: Sign | None = None) -> int:
    """Delete the rows of one chain with ids below ``keep_from_id`` (all, if None) and move its anchor past them.

    ``chain_where`` selects the chain's rows (e.g. ``device_id = ?``).  Runs in the caller's
    transaction; the anchor is written first, since the delete triggers refuse to delete a
    row no anchor covers.  The anchor records the newest of ``time_columns`` among the
    pruned rows and, with ``sign``, the controller's signature over :func:`anchor_content`.
    """
    bound, bound_params = ("", []) if keep_from_id is None else (" AND id < ?", [keep_from_id])
    newest = ", ".join(f"MAX({c})" for c in time_columns) or "''"
    found = db.execute(f"SELECT COUNT(*), MAX(id), {newest} FROM {spec.table} WHERE {chain_where}{bound}",
                       [*params, *bound_params]).fetchone()
    count, last_id = found[0], found[1]
    if not count:
        return 0
    newest_at = max((t for t in found[2:] if t), default="")
    last_hash = db.execute(f"SELECT hash FROM {spec.table} WHERE id = ?", [last_id]).fetchone()[0]
    key = chain_key(spec, chain)
    row = db.execute("SELECT length FROM chain_anchors WHERE chain = ?", [key]).fetchone()
    length = (row[0] if row else 0) + count
    kid, sig = sign(anchor_content(key, length, last_hash, last_id, at, newest_at)) if sign else ("", "")
    db.execute(
        "INSERT INTO chain_anchors(chain, length, hash, last_id, pruned_at, newest_at, kid, sig) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(chain) DO UPDATE SET length = excluded.length, hash = excluded.hash, "
        "last_id = excluded.last_id, pruned_at = excluded.pruned_at, newest_at = excluded.newest_at, "
        "kid = excluded.kid, sig = excluded.sig",
        [key, length, last_hash, last_id, at, newest_at, kid, sig])
    db.execute(f"DELETE FROM {spec.table} WHERE {chain_where} AND id <= ?", [*params, last_id])
    return count


def append(db: sqlite_utils.Database, spec: ChainSpec, chain: str, rows: Iterable[dict[str, Any]],
           insert: Callable[[dict[str, Any]], bool]) -> int:
    """Chain and insert ``rows`` inside the caller's transaction; returns how many were stored.

    ``insert(row)`` stores one row (with ``prev_hash`` and ``hash`` set) and says whether it
    was stored; a row it skips (a duplicate) does not advance the chain.
    """
    key = chain_key(spec, chain)
    length, last = head(db, key)
    stored = 0
    for row in rows:
        digest = link(last, spec.content(row))
        row["prev_hash"], row["hash"] = last, digest
        if insert(row):
            last = digest
            stored += 1
    if stored:
        set_head(db, key, length + stored, last)
    return stored


@dataclass(frozen=True)
class Problem:
    table: str
    chain: str
    row_id: int | None
    what: str

    def __str__(self) -> str:
        where = f"row {self.row_id}" if self.row_id is not None else "end of chain"
        return f"{self.table} [{self.chain}] {where}: {self.what}"


@dataclass(frozen=True)
class ChainReport:
    table: str
    chains: int
    rows: int
    problems: tuple[Problem, ...]
    heads: tuple[tuple[str, int, str], ...]
    anchors: tuple[Any, ...] = ()  # AnchorCheck of controller.reports.anchors, once checked

    @property
    def ok(self) -> bool:
        return not self.problems


def _rows(db: sqlite_utils.Database, spec: ChainSpec) -> Iterator[dict[str, Any]]:
    cols = ", ".join(("id", "prev_hash", "hash", *spec.fields))
    cursor = db.execute(f"SELECT {cols} FROM {spec.table} ORDER BY id")
    names = [d[0] for d in cursor.description]
    for values in cursor:
        yield dict(zip(names, values))


Copy = tuple[int, str, str]  # length, hash, where it was kept


def verify(db: sqlite_utils.Database, spec: ChainSpec,
           copies: Mapping[str, Copy | Sequence[Copy]] | None = None) -> ChainReport:
    """Recompute every chain of ``spec.table`` and compare with the stored links and heads.

    ``copies`` maps a chain to heads kept elsewhere (length, hash, where it came from; one, or
    several taken at different times): the chain's row at each length must still have that
    hash, which is what catches a rewrite that recomputed every later hash and the stored
    head too.  Every copy counts: one taken after a rewrite agrees with it, an earlier one does not.
    """
    problems: list[Problem] = []
    start = anchors(db, spec)
    state: dict[str, tuple[int, str]] = {c: (a.length, a.hash) for c, a in start.items()}
    by_chain: dict[str, list[Copy]] = {
        c: [v] if isinstance(v, tuple) and len(v) == 3 and isinstance(v[0], int) else list(v)  # type: ignore[list-item]
        for c, v in (copies or {}).items()}
    at_length: dict[tuple[str, int], list[Copy]] = {}
    for c, kept in by_chain.items():
        for copy in kept:
            at_length.setdefault((c, copy[0]), []).append(copy)
    count = 0
    for row in _rows(db, spec):
        count += 1
        chain = spec.chain_of(row)
        length, last = state.get(chain, (0, GENESIS))
        if row["prev_hash"] != last:
            problems.append(Problem(spec.table, chain, row["id"], "link broken: a row before it was deleted or inserted"))
        expected = link(row["prev_hash"] or "", spec.content(row))
        if row["hash"] != expected:
            problems.append(Problem(spec.table, chain, row["id"], "content changed after it was stored"))
        state[chain] = (length + 1, row["hash"])
        for copy in at_length.get((chain, length + 1), ()):
            if copy[1] != row["hash"]:
                problems.append(Problem(spec.table, chain, row["id"],
                                        f"differs from the head copied to {copy[2]}: history up to here was rewritten"))
    for chain, kept in sorted(by_chain.items()):
        longest = max(kept, key=lambda c: c[0])
        length, where = longest[0], longest[2]
        if state.get(chain, (0, GENESIS))[0] < length and start.get(chain, Anchor()).length < length:
            problems.append(Problem(spec.table, chain, None,
                                    f"{length} rows copied to {where}, {state.get(chain, (0, GENESIS))[0]} found: "
                                    "rows were deleted"))
    prefix = f"{spec.table}:"
    stored_heads = {r[0][len(prefix):]: (r[1], r[2]) for r in db.execute(
        "SELECT chain, length, head FROM chain_heads WHERE substr(chain, 1, ?) = ?", [len(prefix), prefix])}
    for chain in sorted(set(state) | set(stored_heads)):
        seen = state.get(chain, (0, GENESIS))
        recorded = stored_heads.get(chain, (0, GENESIS))
        if seen != recorded:
            problems.append(Problem(spec.table, chain, None,
                                    f"{recorded[0]} rows recorded, {seen[0]} found: rows were deleted, added or rewritten"))
    heads = tuple((c, *stored_heads[c]) for c in sorted(stored_heads))
    return ChainReport(spec.table, len(state), count, tuple(problems), heads)


def backfill(db: sqlite_utils.Database, spec: ChainSpec, where: str = "hash = ''") -> int:
    """Chain rows stored before the table was chained (used once, by the migration)."""
    rows = list(db.execute(f"SELECT id, {', '.join(spec.fields)} FROM {spec.table} WHERE {where} ORDER BY id"))
    names = ["id", *spec.fields]
    heads: dict[str, tuple[int, str]] = {}
    for values in rows:
        row = dict(zip(names, values))
        chain = spec.chain_of(row)
        length, last = heads.get(chain) or head(db, chain_key(spec, chain))
        digest = link(last, spec.content(row))
        db.execute(f"UPDATE {spec.table} SET prev_hash = ?, hash = ? WHERE id = ?", [last, digest, row["id"]])
        heads[chain] = (length + 1, digest)
    for chain, (length, last) in heads.items():
        set_head(db, chain_key(spec, chain), length, last)
    return len(rows)

