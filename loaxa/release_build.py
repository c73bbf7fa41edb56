"""Make a release from a checkout: ``loaxa release build``, ``sign``, ``keygen`` and ``rollover``.

The agent wheel holds only ``loaxa`` and ``edge_agent`` (what a pole runs), built from the
source tree with its version set by ``--version`` (so a checkout can make the current release
and a bumped one).  Its dependencies are locked to the exact versions installed in the
environment that builds it (where the suite passed), and their wheels come through ``pip
download`` from the configured index or, with ``--wheelhouse``, from a local directory only.
``--platform`` fetches wheels for another machine (a Pi: ``manylinux2014_aarch64``).

Building runs on the release maker's machine, never on a device, so it may use ``packaging``
and ``pip``.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from loaxa import release
from loaxa.protocol import Signer, canonical_json, public_key_from_text, public_key_to_text
from loaxa.wire_time import utcnow
from loaxa.release import (
    KEYS_NAME,
    MANIFEST_NAME,
    PACKAGE,
    UNSIGNED_NAME,
    ReleaseFile,
    ReleaseKeyRollover,
    ReleaseManifest,
    ReleaseRefused,
    check_version,
)

log = logging.getLogger(__name__)

SOURCE_ROOT = Path(__file__).resolve().parent.parent
AGENT_PACKAGES = ("loaxa", "edge_agent")
AGENT_REQUIREMENTS = ("paho-mqtt", "cryptography", "gpiozero")
# pip travels with every release: the venv it is installed into uses it for the next update
# (Debian's python3 has no ensurepip without python3-venv).
_VERSION_LINE = re.compile(r'^__version__ = "[^"]*"$', re.M)


class BuildError(RuntimeError):
    """A release that could not be built or signed; the message says why."""


def source_version(source: Path = SOURCE_ROOT) -> str:
    m = re.search(r'^__version__ = "([^"]*)"$', (source / "loaxa" / "__init__.py").read_text(), re.M)
    if not m:
        raise BuildError(f"no __version__ in {source / 'loaxa' / '__init__.py'}")
    return m.group(1)


def locked_requirements(names: tuple[str, ...] = AGENT_REQUIREMENTS) -> list[str]:
    """``name==version`` for the agent's dependencies and theirs, as installed here."""
    from packaging.requirements import Requirement

    seen: dict[str, str] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise BuildError(f"{name} is not installed here: cannot lock its version") from None
        seen[key] = dist.version
        for spec in dist.requires or ():
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return [f"{k}=={v}" for k, v in sorted(seen.items())]


def _entry_points(source: Path, packages: list[str]) -> str:
    """The source's entry-point groups, keeping the entries whose code ships in the agent wheel."""
    import tomllib

    pyproject = source / "pyproject.toml"
    if not pyproject.exists():  # a staged copy of the packages alone: the checkout declares them
        pyproject = SOURCE_ROOT / "pyproject.toml"
    groups = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"].get("entry-points", {})
    roots = {p.split(".")[0] for p in packages}
    out = []
    for group, table in groups.items():
        kept = {k: v for k, v in table.items() if v.split(".")[0].split(":")[0] in roots}
        if kept:
            out.append(f'[project.entry-points."{group}"]\n' + "".join(f'{k} = "{v}"\n' for k, v in kept.items()))
    return "\n".join(out)


def _pyproject(version: str, requirements: list[str], packages: list[str], source: Path = SOURCE_ROOT) -> str:
    pins = [r for r in requirements if r.split("==")[0] in AGENT_REQUIREMENTS]
    deps = ", ".join(f'"{r}"' for r in pins)
    listed = ", ".join(f'"{p}"' for p in packages)
    return (
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{PACKAGE}"\nversion = "{version}"\n'
        'description = "Loa Xã edge agent (speaker cluster)"\nrequires-python = ">=3.11"\n'
        f"dependencies = [{deps}]\n\n"
        '[project.scripts]\nloaxa = "loaxa.cli:main"\n\n'
        + _entry_points(source, packages) + "\n"
        f"[tool.setuptools]\npackages = [{listed}]\n"
    )


def _stage(source: Path, staging: Path, version: str, requirements: list[str]) -> None:
    packages: list[str] = []
    for pkg in AGENT_PACKAGES:
        src = source / pkg
        if not (src / "__init__.py").exists():
            raise BuildError(f"{src} is not a package: build from a Loa Xã checkout (--source)")
        shutil.copytree(src, staging / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        packages += [str(p.parent.relative_to(staging)).replace("/", ".") for p in (staging / pkg).rglob("__init__.py")]
    init = staging / "loaxa" / "__init__.py"
    init.write_text(_VERSION_LINE.sub(f'__version__ = "{version}"', init.read_text()))
    (staging / "pyproject.toml").write_text(_pyproject(version, requirements, sorted(packages), source))


def _pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    log.info("running %s", " ".join(cmd))
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise BuildError(f"pip {args[0]} failed: {out.stderr.strip()[-800:]}")


def build(out: Path, *, source: Path = SOURCE_ROOT, version: str | None = None, notes: str = "",
          min_from_version: str = "0.0.0", floor: str = "0.0.0", wheelhouse: Path | None = None,
          platform: str | None = None, python: str | None = None, expires_days: float = 365.0,
          extra_files: tuple[Path, ...] = ()) -> ReleaseManifest:
    """Build the wheels into ``out`` and write the unsigned manifest next to them."""
    version = check_version(version or source_version(source))
    check_version(min_from_version)
    check_version(floor)
    if out.exists() and any(out.iterdir()):
        raise BuildError(f"{out} is not empty")
    out.mkdir(parents=True, exist_ok=True)
    requirements = locked_requirements()
    tools = locked_requirements(("pip",))
    with tempfile.TemporaryDirectory(prefix="loaxa-release-") as tmp:
        staging = Path(tmp) / "src"
        staging.mkdir()
        _stage(source, staging, version, requirements)
        _pip("wheel", "-q", "--no-deps", "-w", str(out), str(staging))
    target = ["--only-binary=:all:"]
    if platform:
        target += ["--platform", platform]
    if python:
        target += ["--python-version", python]
    index = ["--no-index", "--find-links", str(wheelhouse)] if wheelhouse else []
    _pip("download", "-q", "--no-deps", "-d", str(out), *target, *index, *requirements, *tools)
    for extra in extra_files:
        shutil.copy2(extra, out / extra.name)
    now = utcnow()
    files = tuple(ReleaseFile(name=p.name, sha256=release.sha256_file(p), size=p.stat().st_size)
                  for p in sorted(out.glob("*.whl")))
    manifest = ReleaseManifest(version=version, min_from_version=min_from_version, floor=floor,
                               python=python or release.python_tag(), created_at=now,
                               expires_at=now + timedelta(days=expires_days), files=files, notes=notes)
    ReleaseManifest.from_dict(manifest.to_dict())
    (out / UNSIGNED_NAME).write_bytes(canonical_json(manifest.to_dict()))
    log.info("built release %s: %d files, %d bytes", version, len(files), manifest.total_bytes)
    return manifest


def load_signer(path: Path) -> Signer:
    try:
        return Signer.from_pem(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise BuildError(f"cannot read the release key {path}: {exc}") from None


def sign(directory: Path, key: Path, rollovers: tuple[Path, ...] = ()) -> ReleaseManifest:
    """Seal the unsigned manifest with the release key; the rollover chain travels with the release."""
    try:
        manifest = ReleaseManifest.from_dict(json.loads((directory / UNSIGNED_NAME).read_text()))
    except (OSError, ValueError, TypeError) as exc:
        raise BuildError(f"{directory / UNSIGNED_NAME}: {exc}") from None
    try:
        release.check_files(manifest, directory)
    except ReleaseRefused as exc:
        raise BuildError(f"will not sign: {exc}") from None
    signer = load_signer(key)
    (directory / MANIFEST_NAME).write_bytes(signer.seal(manifest))
    if rollovers:
        chain = [json.loads(p.read_text()) for p in rollovers]
        (directory / KEYS_NAME).write_bytes(canonical_json(chain))
    log.info("signed release %s with release key %s", manifest.version, signer.kid)
    return manifest


def keygen(path: Path) -> Signer:
    """A new release key, written 0600; keep it off the controller."""
    if path.exists():
        raise BuildError(f"{path} exists: refusing to overwrite a release key")
    signer = Signer.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(signer.private_pem())
    return signer


def rollover(current: Path, next_key: Path, seq: int) -> bytes:
    """A rollover to ``next_key``, signed by (and retiring) ``current``."""
    old, new = load_signer(current), load_signer(next_key)
    msg = ReleaseKeyRollover(seq=seq, next_public_key=public_key_to_text(new.public_key), retire_kid=old.kid,
                             issued_at=utcnow())
    return old.seal(msg)


def public_text(key: Path) -> str:
    text = public_key_to_text(load_signer(key).public_key)
    public_key_from_text(text)
    return text
