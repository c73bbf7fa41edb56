"""Signed agent releases: the manifest, the release-key rollover, and every check a device makes.

A release is a directory of wheels (the agent's own and its locked dependencies) and a
``manifest.json``: a signed envelope (:mod:`loaxa.envelope`) of type ``release`` whose body
names the version, the sha256 and size of every file, the oldest agent version it can update
from, the version floor and the release notes.  It is signed with the RELEASE key, which is
not the controller's plan-signing key: a stolen controller can order an update, but only to a
release the release key's holder signed.  Devices pin the release key at enrollment; a
``release_keys`` rollover, signed by the key it retires, moves them to the next one.

The checks answer the threats python-tuf is built for (docs/agent.md says why a single signed
manifest gives the same guarantees here): arbitrary software (signature, hashes and sizes of
every file, one manifest for the whole set, so no mix-and-match), rollback (a version floor a
device never goes below, raised by every manifest it accepts), freeze (the manifest expires),
key compromise (rollover, and a retired key's signature is refused).

Both sides import this module; it does no network I/O.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Iterable, Mapping

from loaxa import envelope
from loaxa.protocol import (
    KeyRollover,
    Message,
    ProtocolError,
    SignatureError,
    Verifier,
    _get,
    _text,
    parse_time,
    public_key_from_text,
)
from loaxa.wire_time import utcnow

MANIFEST_NAME = "manifest.json"
UNSIGNED_NAME = "manifest.unsigned.json"
KEYS_NAME = "release-keys.json"
PACKAGE = "loaxa-agent"
MAX_FILES = 200
MAX_NOTES = 4000

_VERSION_RE = re.compile(r"^\d{1,6}(\.\d{1,6}){1,3}$")
_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,199}\.whl$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


class ReleaseRefused(Exception):
    """A release this device will not install; ``reason`` is a short code, the text says why."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def parse_version(value: str) -> tuple[int, ...]:
    """Dotted integers only (``0.2.0``): a total order a device can check without extra libraries."""
    if not isinstance(value, str) or not _VERSION_RE.match(value):
        raise ProtocolError(f"{value!r} is not a release version (dotted numbers, e.g. 0.2.0)")
    parts = tuple(int(p) for p in value.split("."))
    return parts + (0,) * (4 - len(parts))


def check_version(value: str) -> str:
    parse_version(value)
    return value


def older(a: str, b: str) -> bool:
    return parse_version(a) < parse_version(b)


def python_tag() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


@dataclass(frozen=True)
class ReleaseFile(Message):
    TYPE: ClassVar[str] = "release_file"
    SIGNED: ClassVar[bool] = True

    name: str
    sha256: str
    size: int

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ReleaseFile":
        if not isinstance(d, Mapping):
            raise ProtocolError("a release file must be an object")
        name, sha = _text(d, "name"), _text(d, "sha256")
        if not _FILE_RE.match(name) or ".." in name:
            raise ProtocolError(f"release file {name!r} is not a wheel file name")
        if not _SHA_RE.match(sha):
            raise ProtocolError(f"release file {name}: not a lowercase hex sha256")
        size = _get(d, "size", int)
        if not 0 < size < 2**31:
            raise ProtocolError(f"release file {name}: bad size {size}")
        return cls(name=name, sha256=sha, size=size)


@dataclass(frozen=True)
class ReleaseManifest(Message):
    """What one release is; signed by the release key."""

    TYPE: ClassVar[str] = "release"
    SIGNED: ClassVar[bool] = True

    version: str
    min_from_version: str
    floor: str
    python: str
    created_at: datetime
    expires_at: datetime
    files: tuple[ReleaseFile, ...]
    notes: str = ""
    package: str = PACKAGE

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ReleaseManifest":
        raw = _get(d, "files", list)
        if not 1 <= len(raw) <= MAX_FILES:
            raise ProtocolError(f"a release has 1 to {MAX_FILES} files")
        files = tuple(ReleaseFile.from_dict(f) for f in raw)
        names = [f.name for f in files]
        if len(set(names)) != len(names):
            raise ProtocolError("a release lists a file twice")
        m = cls(
            version=check_version(_text(d, "version", limit=32)),
            min_from_version=check_version(_text(d, "min_from_version", limit=32)),
            floor=check_version(_text(d, "floor", limit=32)),
            python=_text(d, "python", limit=16),
            created_at=parse_time(d.get("created_at"), "created_at"),
            expires_at=parse_time(d.get("expires_at"), "expires_at"),
            files=files,
            notes=_text(d, "notes", required=False, limit=MAX_NOTES),
            package=_text(d, "package", required=False, default=PACKAGE, limit=64),
        )
        if older(m.version, m.floor):
            raise ProtocolError(f"release {m.version} lies below its own floor {m.floor}")
        if m.agent_wheel() is None:
            raise ProtocolError(f"release {m.version} has no {m.package} wheel")
        return m

    def agent_wheel(self) -> ReleaseFile | None:
        prefix = f"{self.package.replace('-', '_')}-{self.version}-"
        return next((f for f in self.files if f.name.startswith(prefix)), None)

    def requirements(self) -> list[str]:
        """What pip installs from the release's wheels: the agent, and pip for the next update."""
        pip = ["pip" for f in self.files if f.name.startswith("pip-")]
        return [f"{self.package}=={self.version}", *pip]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


@dataclass(frozen=True)
class ReleaseKeyRollover(KeyRollover):
    """Introduces the next release key, signed by the one it retires: a plan-key rollover's shape, its own type."""

    TYPE: ClassVar[str] = "release_keys"


def open_manifest(payload: bytes, verifier: Verifier, retired_kids: Iterable[str] = ()) -> ReleaseManifest:
    """Verify the manifest's signature against the pinned release keys; refusals name the reason."""
    kid = envelope.signing_kid(payload)
    if kid and kid in set(retired_kids):
        raise ReleaseRefused("retired_key", f"the release is signed by the retired release key {kid}")
    try:
        return verifier.open(payload, ReleaseManifest)
    except SignatureError as exc:
        raise ReleaseRefused(exc.reason or envelope.BAD_SIGNATURE, f"release manifest refused: {exc}") from None
    except ProtocolError as exc:
        raise ReleaseRefused("bad_manifest", f"release manifest refused: {exc}") from None


def check_applicable(m: ReleaseManifest, *, running: str, floor: str, now: datetime | None = None) -> None:
    """Whether a verified release may replace ``running`` on a device whose floor is ``floor``."""
    now = now or utcnow()
    if m.expires_at <= now:
        raise ReleaseRefused("expired", f"release {m.version}: its manifest expired on {m.expires_at:%Y-%m-%d}")
    if older(m.version, floor):
        raise ReleaseRefused("downgrade", f"release {m.version} is below this device's floor {floor}: downgrade refused")
    if older(running, m.min_from_version):
        raise ReleaseRefused("too_old", f"release {m.version} updates from {m.min_from_version} or later; "
                                        f"this device runs {running}")
    if m.python != python_tag():
        raise ReleaseRefused("python", f"release {m.version} is built for Python {m.python}; this device has {python_tag()}")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


def check_file(directory: Path, f: ReleaseFile) -> None:
    path = directory / f.name
    if not path.is_file():
        raise ReleaseRefused("missing_file", f"release file {f.name} is missing")
    size = path.stat().st_size
    if size != f.size:
        raise ReleaseRefused("tampered", f"release file {f.name} has {size} bytes, the manifest says {f.size}")
    digest = sha256_file(path)
    if digest != f.sha256:
        raise ReleaseRefused("tampered", f"release file {f.name} has sha256 {digest[:12]}…, not the signed one")


def check_files(m: ReleaseManifest, directory: Path) -> None:
    for f in m.files:
        check_file(directory, f)


def follow_rollovers(first_key: str, chain: Iterable[Mapping[str, Any]]) -> tuple[Verifier, tuple[str, ...]]:
    """The release keys trusted after a rollover chain that starts at ``first_key``, and those it retired.

    The controller checks what it publishes this way; devices keep the same walk persistent
    (``edge_agent.keyring.PinnedKeys``).
    """
    verifier = Verifier([public_key_from_text(first_key)])
    retired: list[str] = []
    last = 0
    for env in chain:
        try:
            roll = verifier.open(envelope.canonical_json(env), ReleaseKeyRollover)
        except (ProtocolError, TypeError, ValueError) as exc:
            raise ReleaseRefused("bad_keys", f"release-key rollover refused: {exc}") from None
        if roll.seq <= last or roll.retire_kid != env.get("kid"):
            raise ReleaseRefused("bad_keys", f"release-key rollover #{roll.seq} is out of order or retires another key")
        last = roll.seq
        verifier.add(public_key_from_text(roll.next_public_key))
        verifier.retire(roll.retire_kid)
        retired.append(roll.retire_kid)
    return verifier, tuple(retired)
