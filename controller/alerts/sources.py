"""Alert sources as data: a polled Atom/RSS feed, an authenticated push endpoint, or manual upload.

A source says where documents come from and whom it trusts (:class:`Trust`).  A push source
stores only the SHA-256 of its bearer token, so a leaked database does not let anyone push.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from controller.alerts.trust import Trust
from controller.alerts.xmlsafe import MAX_DOCUMENT_BYTES
from controller.errors import InputError

FEED, PUSH, UPLOAD = "feed", "push", "upload"
SOURCE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
MIN_INTERVAL_S = 5


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Source:
    id: str
    kind: str
    name: str = ""
    trust: Trust = field(default_factory=Trust)
    url: str | None = None
    interval_s: int = 60
    token_sha256: str | None = field(default=None, repr=False)
    max_bytes: int = MAX_DOCUMENT_BYTES

    def __post_init__(self) -> None:
        if not SOURCE_ID_RE.match(self.id):
            raise InputError("source_bad_id", f"Mã nguồn '{self.id}' không hợp lệ.", "id")
        if self.kind not in (FEED, PUSH, UPLOAD):
            raise InputError("source_bad_kind", "Loại nguồn phải là feed, push hoặc upload.", "kind")
        if self.kind == FEED and not (self.url or "").startswith(("http://", "https://")):
            raise InputError("source_bad_url", "Nguồn feed cần địa chỉ http(s).", "url")
        if self.kind == FEED and self.interval_s < MIN_INTERVAL_S:
            raise InputError("source_bad_interval", f"Chu kỳ đọc feed tối thiểu {MIN_INTERVAL_S} giây.", "interval_s")
        if self.kind == PUSH and not self.token_sha256:
            raise InputError("source_no_token", "Nguồn đẩy tin cần mã xác thực.", "token")
        if not 1024 <= self.max_bytes <= 10_000_000:
            raise InputError("source_bad_size", "Giới hạn kích thước phải từ 1 KB đến 10 MB.", "max_bytes")

    def accepts_token(self, token: str | None) -> bool:
        """Constant-time check of a push request's bearer token."""
        if self.kind != PUSH or not token or not self.token_sha256:
            return False
        return hmac.compare_digest(token_digest(token), self.token_sha256)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Source":
        allowed = {"id", "kind", "name", "url", "interval_s", "token", "token_sha256", "max_bytes", "senders",
                   "require_signature", "certificates"}
        if not isinstance(data, Mapping) or set(data) - allowed:
            raise InputError("source_bad", f"Cấu hình nguồn không hợp lệ: {', '.join(sorted(set(data) - allowed))}.",
                             "source")
        trust = Trust(senders=tuple(data.get("senders", ())), require_signature=bool(data.get("require_signature", False)),
                      certificates=tuple(data.get("certificates", ())))
        digest = data.get("token_sha256") or (token_digest(data["token"]) if data.get("token") else None)
        return cls(id=str(data.get("id", "")), kind=str(data.get("kind", "")), name=str(data.get("name", "")),
                   trust=trust, url=data.get("url"), interval_s=int(data.get("interval_s", 60)), token_sha256=digest,
                   max_bytes=int(data.get("max_bytes", MAX_DOCUMENT_BYTES)))
