"""``loaxa release build|sign|keygen|rollover|verify``: make a signed agent release from the checkout."""

from __future__ import annotations

import argparse
from pathlib import Path

from loaxa.cli import CommandError, reported, set_handler


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("release", help="build and sign an agent release (wheels + signed manifest)")
    actions = p.add_subparsers(dest="release_command", metavar="ACTION", required=True)

    b = actions.add_parser("build", help="build the agent wheel and its locked dependency wheels into a directory")
    b.add_argument("out", help="directory to create (must be empty or absent)")
    b.add_argument("--version", dest="release_version", help="release version (default: the checkout's loaxa.__version__)")
    b.add_argument("--notes", default="", help="release notes shown to operators")
    b.add_argument("--min-from", default="0.0.0", help="oldest agent version that may update to this release")
    b.add_argument("--floor", default="0.0.0", help="devices that accept this release never go below this version again")
    b.add_argument("--wheelhouse", help="take dependency wheels only from this directory (no index)")
    b.add_argument("--platform", help="wheel platform of the devices, e.g. manylinux2014_aarch64 (default: this machine)")
    b.add_argument("--python", help="Python version of the devices, e.g. 3.11 (default: this interpreter's)")
    b.add_argument("--expires-days", type=float, default=365.0, help="the manifest expires after this many days")
    b.add_argument("--source", help="Loa Xã source tree to build from (default: this checkout)")
    set_handler(b, _build, None)

    s = actions.add_parser("sign", help="sign a built release with the release key")
    s.add_argument("directory")
    s.add_argument("--key", required=True, help="the release private key (PEM), kept off the controller")
    s.add_argument("--rollover", action="append", default=[], help="release-key rollover files, oldest first")
    set_handler(s, _sign, None)

    k = actions.add_parser("keygen", help="create a release key (prints its public key for the controller's config)")
    k.add_argument("path")
    set_handler(k, _keygen, None)

    r = actions.add_parser("rollover", help="introduce the next release key, signed by the current one")
    r.add_argument("--key", required=True, help="current release key (PEM); it is retired")
    r.add_argument("--next", required=True, dest="next_key", help="next release key (PEM)")
    r.add_argument("--seq", type=int, required=True, help="rollover number, one more than the last")
    r.add_argument("--out", required=True, help="file to write")
    set_handler(r, _rollover, None)

    v = actions.add_parser("verify", help="check a release against a release public key, as a device would")
    v.add_argument("directory")
    v.add_argument("--public-key", required=True, help="release public key (base64)")
    set_handler(v, _verify, None)


def _build(args: argparse.Namespace) -> int:
    from loaxa.protocol import ProtocolError
    from loaxa.release_build import SOURCE_ROOT, BuildError, build

    with reported(BuildError, ProtocolError, OSError):
        m = build(Path(args.out), source=Path(args.source) if args.source else SOURCE_ROOT,
                  version=args.release_version, notes=args.notes, min_from_version=args.min_from, floor=args.floor,
                  wheelhouse=Path(args.wheelhouse) if args.wheelhouse else None, platform=args.platform,
                  python=args.python, expires_days=args.expires_days)
    print(f"built release {m.version}: {len(m.files)} files, {m.total_bytes // 1024} KiB in {args.out} (unsigned)")
    return 0


def _sign(args: argparse.Namespace) -> int:
    from loaxa.release_build import BuildError, sign

    with reported(BuildError):
        m = sign(Path(args.directory), Path(args.key), tuple(Path(p) for p in args.rollover))
    print(f"signed release {m.version} in {args.directory}")
    return 0


def _keygen(args: argparse.Namespace) -> int:
    from loaxa.protocol import public_key_to_text
    from loaxa.release_build import BuildError, keygen

    with reported(BuildError, OSError):
        signer = keygen(Path(args.path))
    print(f"release key {signer.kid} written to {args.path}; public key:")
    print(public_key_to_text(signer.public_key))
    return 0


def _rollover(args: argparse.Namespace) -> int:
    from loaxa.release_build import BuildError, rollover

    if args.seq < 1:
        raise CommandError("--seq starts at 1")
    with reported(BuildError, OSError):
        Path(args.out).write_bytes(rollover(Path(args.key), Path(args.next_key), args.seq))
    print(f"rollover #{args.seq} written to {args.out}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from loaxa.protocol import ProtocolError, Verifier, public_key_from_text
    from loaxa.release import MANIFEST_NAME, ReleaseRefused, check_files, open_manifest

    directory = Path(args.directory)
    with reported(ReleaseRefused, ProtocolError, OSError):
        m = open_manifest((directory / MANIFEST_NAME).read_bytes(), Verifier([public_key_from_text(args.public_key)]))
        check_files(m, directory)
    print(f"release {m.version}: signature and {len(m.files)} files verified")
    return 0
