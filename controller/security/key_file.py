"""The controller's Ed25519 signing key: created once, kept private on disk.

Only the current key's private half is ever kept.  A key retired by a rotation leaves
just its public half in ``keys/retired/<kid>.pub`` (what an auditor needs to check old
signatures); a private key that outlived its rotation could still sign plans that any
pole offline through the rotation would trust, so it must not linger on disk or in a
backup.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from loaxa import protocol
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


def retired_dir(key_path: Path) -> Path:
    return key_path.parent / "retired"


def keep_public_half(signer: Signer, key_path: Path) -> Path:
    """Record a retired key by its public half only (``retired/<kid>.pub``, base64 raw key)."""
    folder = retired_dir(key_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{signer.kid}.pub"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(protocol.public_key_to_text(signer.public_key) + "\n", encoding="ascii")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path


def scrub_retired_private_keys(key_path: Path) -> list[str]:
    """Replace every retired private key an older version archived with its public half; returns their kids."""
    folder = retired_dir(key_path)
    scrubbed: list[str] = []
    if not folder.is_dir():
        return scrubbed
    for pem in sorted(folder.glob("*.pem")):
        try:
            signer = Signer.from_pem(pem.read_bytes())
        except (OSError, ValueError, TypeError) as exc:
            log.error("cannot read %s (%s); remove it by hand: retired private keys must not be kept", pem, exc)
            continue
        keep_public_half(signer, key_path)
        pem.unlink()
        scrubbed.append(signer.kid)
        log.warning("removed the retired private key %s; kept its public half", signer.kid)
    return scrubbed


def trusted_public_keys(key_path: Path) -> dict[str, Ed25519PublicKey]:
    """Every key this controller has signed with, by key id: the current one and each retired public half."""
    keys: dict[str, Ed25519PublicKey] = {}
    if key_path.exists():
        current = Signer.from_pem(key_path.read_bytes())
        keys[current.kid] = current.public_key
    folder = retired_dir(key_path)
    for pub in sorted(folder.glob("*.pub")) if folder.is_dir() else ():
        try:
            key = protocol.public_key_from_text(pub.read_text(encoding="ascii"))
        except (OSError, ValueError) as exc:
            log.error("cannot read the retired public key %s: %s", pub, exc)
            continue
        keys[protocol.key_id(key)] = key
    return keys
