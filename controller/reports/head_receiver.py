"""The receiving end of ``[retention] heads_copy_url``: signed chain heads another controller sends here.

A commune's controller ships its chain heads off the box; this controller (a second one, or
the province's server) keeps them where the sender's insider cannot reach.  A copy counts only
when it verifies with a public key pinned for that sender in ``[retention] heads_copy_senders``
(nothing of the sender's own choosing), carries a sequence number above every one kept from it
(no replay of an old copy), and is not dated ahead of this clock.  Copies are stored
append-only (triggers refuse update and delete) and every one is served back, so ``loaxa audit
verify --heads <url>`` on the sender compares with the copies taken before any rewrite, not
only the latest, which a rewrite before the next shipment would already agree with.

A chain reported at the same length as in the previous copy but with another head is a
rewrite seen from here without any of the sender's rows: the copy is kept as evidence, and
the conflict is logged and stored with it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any, Iterable

from controller.db import Database
from controller.errors import Conflict, InputError, NotFound, Refused
from controller.reports.audit import AuditTrail
from loaxa import protocol
from loaxa.protocol import ChainHeads, Verifier
from loaxa.wire_time import format_time, utcnow

log = logging.getLogger(__name__)

FUTURE_SLACK = timedelta(minutes=5)
MAX_SERVED = 10000


@dataclass(frozen=True)
class HeadsReceived:
    """What the receiver answers the sender: kept, under which sequence number, and any conflict seen."""

    sender: str
    seq: int
    chains: int
    received_at: str
    conflicts: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pinned_senders(entries: Iterable[str]) -> dict[str, Verifier]:
    """Each configured sender's verifier over the keys pinned for it (``name=public key`` entries)."""
    keys: dict[str, list[Any]] = {}
    for entry in entries:
        name, _, key = entry.partition("=")
        keys.setdefault(name.strip(), []).append(protocol.public_key_from_text(key.strip()))
    return {name: Verifier(k) for name, k in keys.items()}


class HeadReceiver:
    def __init__(self, db: Database, senders: Iterable[str], audit: AuditTrail | None = None):
        """``senders``: ``[retention] heads_copy_senders``."""
        self.db = db
        self.audit = audit
        self.senders = pinned_senders(senders)

    def receive(self, sender: str, payload: bytes) -> HeadsReceived:
        """Verify a signed copy from ``sender`` against its pinned keys and keep it (append-only)."""
        verifier = self.senders.get(sender)
        if verifier is None:
            raise NotFound("unknown_sender", f"'{sender}' không có trong danh sách máy chủ được gửi bản sao (heads_copy_senders).")
        if len(payload) > protocol.MAX_PAYLOAD_BYTES:
            raise InputError("too_large", "Bản sao quá lớn.")
        try:
            heads = verifier.open(payload, ChainHeads)
        except protocol.SignatureError as exc:
            log.error("refused chain heads claimed from %s: %s", sender, exc)
            raise Refused("bad_signature", "Chữ ký không khớp khóa đã ghim cho máy chủ gửi.") from None
        except protocol.ProtocolError as exc:
            raise InputError("invalid_heads", f"Bản sao không hợp lệ: {exc}") from None
        now = utcnow()
        if heads.issued_at > now + FUTURE_SLACK:
            raise InputError("in_the_future", "Bản sao ghi thời điểm ở tương lai.")
        kid = json.loads(payload)["kid"]
        with self.db.tx() as conn:
            last = conn.execute("SELECT seq, payload FROM received_chain_heads WHERE sender = ? ORDER BY seq DESC LIMIT 1",
                                [sender]).fetchone()
            if last is not None and heads.seq <= last[0]:
                raise Conflict("stale_copy", f"Đã có bản sao số {last[0]} từ '{sender}': bản số {heads.seq} cũ hơn.")
            conflicts = self._conflicts(verifier, last[1] if last else None, heads)
            conn.execute(
                "INSERT INTO received_chain_heads(sender, seq, issued_at, received_at, kid, chains, conflicts, payload) "
                "VALUES (?,?,?,?,?,?,?,?)",
                [sender, heads.seq, format_time(heads.issued_at), format_time(now), kid, len(heads.heads),
                 "\n".join(conflicts), payload.decode("utf-8")])
            if conflicts and self.audit is not None:
                self.audit.record(f"controller:{sender}", "chain_heads_conflict", sender,
                                  {"seq": heads.seq, "conflicts": conflicts[:20]})
        for c in conflicts:
            log.error("chain heads from %s: %s", sender, c)
        log.info("kept signed chain heads #%d from %s (%d chains)", heads.seq, sender, len(heads.heads))
        return HeadsReceived(sender, heads.seq, len(heads.heads), format_time(now), tuple(conflicts))

    @staticmethod
    def _conflicts(verifier: Verifier, previous: str | None, heads: ChainHeads) -> list[str]:
        if previous is None:
            return []
        try:
            before = {h.chain: (h.length, h.head) for h in verifier.open(previous, ChainHeads).heads}
        except protocol.ProtocolError:  # a key since unpinned: nothing to compare with
            return []
        out = []
        for h in heads.heads:
            old = before.get(h.chain)
            if old is not None and (h.length < old[0] or (h.length == old[0] and h.head != old[1])):
                out.append(f"{h.chain}: {old[0]} rows with head {old[1][:12]}… in copy before, now {h.length} "
                           f"rows with head {h.head[:12]}…: history was rewritten or deleted")
        return out

    def copies(self, sender: str) -> list[str]:
        """Every signed copy kept from ``sender``, oldest first (at most the last ``MAX_SERVED``)."""
        if sender not in self.senders:
            raise NotFound("unknown_sender", f"Không nhận bản sao từ '{sender}'.")
        with self.db.tx() as conn:
            rows = conn.execute("SELECT payload FROM (SELECT seq, payload FROM received_chain_heads WHERE sender = ? "
                                "ORDER BY seq DESC LIMIT ?) ORDER BY seq", [sender, MAX_SERVED]).fetchall()
        return [r[0] for r in rows]
