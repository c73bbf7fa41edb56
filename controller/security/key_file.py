"""The controller's Ed25519 signing key: created once, kept private on disk."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from loaxa.protocol import Signer

log = logging.getLogger(__name__)


def load_or_create_signer(path: Path) -> Signer:
    """Load the signing key, generating it (mode 0600) on first start."""
    if path.exists():
        return Signer.from_pem(path.read_bytes())
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    signer = Signer.generate()
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(signer.private_pem())
    os.replace(tmp, path)
    log.info("generated controller signing key %s at %s", signer.kid, path)
    return signer
