"""Chain heads signed on a schedule and kept off the box.

Someone who can rewrite the database *and* recompute every later hash passes ``verify``
unless a head copied elsewhere beforehand disagrees.  So every ``[retention]
heads_every_min`` the controller signs the heads of every chain (a :class:`ChainHeads`
message), publishes it retained on ``loaxa/v1/heads`` (every pole verifies it against its
pinned keys and keeps the latest, ``<data_dir>/chain-heads.json``), and POSTs it to
``[retention] heads_copy_url`` (a second controller or the province's server) when set.
``loaxa audit verify --heads FILE|URL`` checks the chains against such copies.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from controller.db import Database
from loaxa import protocol
from loaxa.protocol import ChainHead, ChainHeads, Signer, Verifier
from loaxa.wire_time import format_time, utcnow

log = logging.getLogger(__name__)


def current_heads(db: Database) -> tuple[ChainHead, ...]:
    with db.tx() as conn:
        rows = conn.execute("SELECT chain, length, head FROM chain_heads ORDER BY chain").fetchall()
    return tuple(ChainHead(chain=c, length=n, head=h) for c, n, h in rows)


def sign_heads(db: Database, signer: Signer, controller_url: str = "") -> bytes:
    """The heads of every chain now, sealed with the controller's key."""
    msg = ChainHeads(seq=db.next_counter("chain_heads_seq"), issued_at=utcnow(), controller_url=controller_url,
                     heads=current_heads(db))
    return signer.seal(msg)


def send_copy(url: str, payload: bytes, timeout: float = 30, cafile: str | None = None) -> None:
    """POST the signed heads to the second copy's URL; raises OSError when it is not accepted."""
    req = urllib.request.Request(url, data=payload, method="POST", headers={"Content-Type": "application/json"})
    context = ssl.create_default_context(cafile=cafile or None) if url.startswith("https://") else None
    with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:
        if resp.status >= 300:
            raise OSError(f"{url} answered HTTP {resp.status}")


MAX_BUNDLE_BYTES = 64 * 1024 * 1024


def load_copy(source: str, timeout: float = 30, cafile: str | None = None) -> bytes:
    """A signed heads copy (or a receiver's bundle of them) from a file (a pole's ``chain-heads.json``) or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        context = ssl.create_default_context(cafile=cafile) if source.startswith("https://") else None
        with urllib.request.urlopen(source, timeout=timeout, context=context) as resp:
            return resp.read(MAX_BUNDLE_BYTES + 1)
    return Path(source).read_bytes()


def signed_copies(data: bytes) -> list[bytes]:
    """One signed copy, or each of a receiver's bundle (``{"copies": [signed JSON text, ...]}``)."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        raise protocol.ProtocolError("not JSON") from None
    if isinstance(doc, dict) and isinstance(doc.get("copies"), list):
        if not all(isinstance(c, str) for c in doc["copies"]):
            raise protocol.ProtocolError("field 'copies': a list of signed copies")
        return [c.encode("utf-8") for c in doc["copies"]]
    return [data]


def copies_from(sources: Iterable[str], keys: Mapping[str, Any],
                cafile: str | None = None) -> tuple[dict[str, list[tuple[int, str, str]]], list[str]]:
    """Chain heads from every copy whose signature verifies with the controller's keys, and what was
    refused.  Every copy of a chain is kept: one signed after a rewrite agrees with it, an earlier one does not."""
    verifier = Verifier(keys.values())
    out: dict[str, list[tuple[int, str, str]]] = {}
    refused: list[str] = []
    for source in sources:
        try:
            payloads = signed_copies(load_copy(source, cafile=cafile))
        except (OSError, urllib.error.URLError, protocol.ProtocolError) as exc:
            refused.append(f"{source}: {exc}")
            continue
        for payload in payloads:
            try:
                heads = verifier.open(payload, ChainHeads)
            except protocol.ProtocolError as exc:
                refused.append(f"{source}: {exc}")
                continue
            where = f"{source} (#{heads.seq}, {format_time(heads.issued_at)})"
            for h in heads.heads:
                out.setdefault(h.chain, []).append((h.length, h.head, where))
    return out, refused


class HeadShipper:
    """Signs and ships the chain heads every ``every_s`` seconds, from its own thread."""

    def __init__(self, db: Database, signer: Signer, publish: Callable[[str, bytes], None], every_s: float,
                 copy_url: str = "", controller_url: str = "", copy_cafile: str = ""):
        self.db = db
        self.signer = signer
        self.publish = publish
        self.every_s = every_s
        self.copy_url = copy_url
        self.controller_url = controller_url
        self.copy_cafile = copy_cafile
        self.last: bytes | None = None
        self.copy_failures = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def ship(self) -> bytes:
        payload = sign_heads(self.db, self.signer, self.controller_url)
        self.last = payload
        self.publish(protocol.heads_topic(), payload)
        if self.copy_url:
            try:
                send_copy(self.copy_url, payload, cafile=self.copy_cafile)
            except (OSError, urllib.error.URLError) as exc:
                self.copy_failures += 1
                log.error("could not send the signed chain heads to %s: %s", self.copy_url, exc)
        log.info("signed chain heads #%s shipped", json.loads(payload)["body"]["seq"])
        return payload

    def start(self) -> None:
        if self.every_s <= 0:
            return
        self._thread = threading.Thread(target=self._loop, name="chain-heads", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0 if self.last is None else self.every_s):
            try:
                self.ship()
            except Exception:
                log.exception("shipping the chain heads failed; trying again later")
                self._stop.wait(min(self.every_s, 60))

    def republish(self) -> None:
        """A broker restart loses retained messages: send the last heads again."""
        if self.last is not None:
            self.publish(protocol.heads_topic(), self.last)

    def stop(self) -> None:
        self._stop.set()
