"""One door for every CAP document, whatever brought it: size, hostile XML, schema, then trust."""

from __future__ import annotations

import hashlib
import logging

from controller.alerts.cap import Alert, validate
from controller.alerts.sources import Source
from controller.alerts.trust import apply_trust
from controller.alerts.xmlsafe import parse_untrusted

log = logging.getLogger(__name__)


def read_document(data: bytes, source: Source) -> Alert:
    """The trusted alert in ``data`` for ``source``; raises an ``InputError`` subclass (logged) otherwise."""
    digest = hashlib.sha256(data).hexdigest()[:16] if isinstance(data, (bytes, bytearray)) else "?"
    try:
        root = parse_untrusted(data, what="bản tin CAP", max_bytes=source.max_bytes)
        validate(root)
        alert = apply_trust(root, source.trust)
    except Exception as exc:
        log.warning("source %s: document %s refused: %s", source.id, digest, getattr(exc, "code", type(exc).__name__))
        raise
    log.info("source %s: accepted %s %s from %s (%s)", source.id, alert.msg_type, alert.identifier, alert.sender, digest)
    return alert
