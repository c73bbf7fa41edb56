"""The envelope every message travels in, and the one place it is signed and checked.

A signed message (plans, commands, acks, key rollovers, chain heads, a device's event batch,
a release manifest, a release-key rollover) is::

    {"v": 1, "type": "plan", "kid": "<key id>", "body": {...}, "sig": "<base64>"}

The Ed25519 signature covers the canonical JSON of everything but ``sig``.  A device's
plain message (its state) is the same envelope without ``kid`` and ``sig``.  Each message
type says only what its body holds (:mod:`loaxa.protocol`, :mod:`loaxa.release`); how it
is sealed, what a refusal is called and which bytes go out are decided here, once, so a
new signed message cannot get its own, subtly different check.  No I/O.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Callable, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PROTOCOL_VERSION = 1
MAX_PAYLOAD_BYTES = 1024 * 1024

UNSIGNED = "unsigned"
UNKNOWN_KEY = "unknown_key"
BAD_SIGNATURE = "bad_signature"


class ProtocolError(ValueError):
    """A payload that is not a valid message; the text says what is wrong."""


class SignatureError(ProtocolError):
    """A payload whose signature is missing, unknown or wrong; ``reason`` says which
    (:data:`UNSIGNED`, :data:`UNKNOWN_KEY`, :data:`BAD_SIGNATURE`, or empty for another cause)."""

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def load_json(payload: bytes | str) -> dict[str, Any]:
    """A payload's JSON object, bounded in size; anything else is a ProtocolError."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ProtocolError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    try:
        obj = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError:
        raise ProtocolError("payload is not UTF-8") from None
    except (json.JSONDecodeError, RecursionError):
        raise ProtocolError("payload is not JSON") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts (int_max_str_digits)
        raise ProtocolError(f"payload is not usable JSON: {str(exc)[:120]}") from None
    if not isinstance(obj, dict):
        raise ProtocolError("payload must be a JSON object")
    return obj


def seal(sign: Callable[[bytes], bytes], kid: str, type_: str, body: Mapping[str, Any]) -> bytes:
    """The signed envelope of ``body``: ``sign`` (an Ed25519 private key's ``sign``) over its canonical JSON."""
    unsigned = canonical_json({"v": PROTOCOL_VERSION, "type": type_, "kid": kid, "body": body})
    sig = base64.b64encode(sign(unsigned))
    # Keys sort as body, kid, sig, type, v: splice the signature in before the envelope's
    # own "type" (the last one; any inside the body comes earlier) instead of serialising twice.
    at = unsigned.rfind(b',"type":')
    return unsigned[:at] + b',"sig":"' + sig + b'"' + unsigned[at:]


def plain(type_: str, body: Mapping[str, Any]) -> bytes:
    """The unsigned envelope of a device's message (the broker's per-device ACL vouches for it)."""
    return canonical_json({"v": PROTOCOL_VERSION, "type": type_, "body": body})


def _checked(payload: bytes | str, type_: str) -> dict[str, Any]:
    env = load_json(payload)
    if env.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"unsupported protocol version {env.get('v')!r}")
    if env.get("type") != type_:
        raise ProtocolError(f"expected a {type_!r} message, got {env.get('type')!r}")
    return env


def open_signed(payload: bytes | str, type_: str, keys: Mapping[str, Ed25519PublicKey]) -> Any:
    """The body of a ``type_`` envelope signed by one of ``keys`` (key id → public key), not yet parsed."""
    env = _checked(payload, type_)
    sig_text = env.pop("sig", None)
    if not isinstance(sig_text, str):
        raise SignatureError("message is not signed", UNSIGNED)
    key = keys.get(env.get("kid"))  # type: ignore[arg-type]
    if key is None:
        raise SignatureError(f"signed with an unknown key {env.get('kid')!r}", UNKNOWN_KEY)
    try:
        key.verify(base64.b64decode(sig_text, validate=True), canonical_json(env))
    except (InvalidSignature, binascii.Error, ValueError):
        raise SignatureError("bad signature", BAD_SIGNATURE) from None
    return env.get("body")


def open_plain(payload: bytes | str, type_: str) -> Any:
    """The body of an unsigned ``type_`` envelope, not yet parsed."""
    return _checked(payload, type_).get("body")


def signing_kid(payload: bytes) -> str:
    """The key id an envelope names, before any check ("" when there is none): to refuse a retired key by name."""
    try:
        env = json.loads(payload)
    except ValueError:
        return ""
    kid = env.get("kid") if isinstance(env, dict) else None
    return kid if isinstance(kid, str) else ""
