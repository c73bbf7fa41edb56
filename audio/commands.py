"""Subcommands of the audio pipeline: ``normalize``, ``script``, ``render`` and ``corpus check``.

Each subcommand is one ``_add_<name>`` function and one handler; handlers import the work
they need, so that building the parser stays cheap.  ``normalize`` reads UTF-8 text
(:func:`read_text`); ``script`` and ``render`` read any intake format, chosen by content
(:func:`read_bulletin`); output is UTF-8 on standard output.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from loaxa.cli import CommandError, reported

if TYPE_CHECKING:
    from audio.normalize import Abbreviations


def _read_bytes(source: str, what: str = "text file") -> bytes:
    try:
        return sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except FileNotFoundError:
        raise CommandError(f"file not found: {source}") from None
    except IsADirectoryError:
        raise CommandError(f"{source} is a directory, not a {what}") from None
    except OSError as exc:
        raise CommandError(f"cannot read {source}: {exc.strerror}") from None


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        where = "standard input" if source == "-" else source
        line = data[: exc.start].count(b"\n") + 1
        raise CommandError(
            f"{where} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
            "save it as UTF-8 and try again"
        ) from None


def read_text(source: str) -> str:
    """Read UTF-8 text from a path, or from standard input when ``source`` is ``-``."""
    return _decode(_read_bytes(source), source)


def read_bulletin(source: str) -> str:
    """A bulletin from a path or standard input in any intake format (text, .docx, PDF, photo),
    the reader chosen by the content; notices and OCR doubts go to standard error."""
    from audio.intake import IntakeError, read_document
    from audio.settings import StandaloneAudioConfig
    from loaxa.config import ConfigError, load_config

    from audio.intake.sniff import sniff

    data = _read_bytes(source, "file")
    if not data.strip():
        raise CommandError("the bulletin is empty")
    if sniff(data) == "text" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _decode(data, source)
    with reported(ConfigError):
        audio = load_config(StandaloneAudioConfig).audio
    with reported(IntakeError):
        doc = read_document(data, None if source == "-" else source, audio.intake_limits())
    for notice in doc.notices:
        sys.stderr.write(notice + "\n")
    doubtful = doc.low_confidence(audio.ocr_low_confidence)
    if doc.ocr:
        sys.stderr.write(f"OCR: {len(doc.words)} từ, {len(doubtful)} từ cần kiểm tra"
                         + (": " + ", ".join(w.text for w in doubtful[:20]) if doubtful else "") + "\n")
    return doc.text


FILE_HELP = ("bulletin as UTF-8 text, .docx, PDF (text layer or scan) or a photo (JPEG, PNG, HEIC), "
             "read by its content whatever its name; - for standard input")


def write_text(text: str) -> None:
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.buffer.flush()


def _dictionary(path: Path | None) -> "Abbreviations":
    from audio.normalize import DictionaryError, load_abbreviations

    with reported(DictionaryError):
        return load_abbreviations(path)


def _dictionary_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dictionary", metavar="FILE", type=Path,
        help="TOML file of abbreviations that add to or replace the built-in dictionary",
    )


def _normalize(args: argparse.Namespace) -> int:
    from audio.normalize import normalize_text

    dictionary = _dictionary(args.dictionary)
    write_text(normalize_text(read_text("-"), dictionary))
    return 0


def _add_normalize(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "normalize",
        help="rewrite Vietnamese text as it is spoken (stdin to stdout)",
        description="Read text on standard input and write it as an announcer reads it: numbers, dates, "
        "times, units, document references and abbreviations in words. Line for line: an empty line stays empty.",
    )
    _dictionary_option(parser)
    parser.set_defaults(func=_normalize)


def _script(args: argparse.Namespace) -> int:
    import dataclasses

    from audio.document import clean_document
    from audio.script import ScriptError, ScriptSettings, build_script

    text = read_bulletin(args.file)
    if not text.strip():
        raise CommandError("the bulletin is empty")
    doc = clean_document(text)
    if args.show_removed:
        for piece in doc.removed:
            shown = piece.text.replace("\n", "\n    ")
            sys.stderr.write(f"[{piece.reason}] dòng {piece.line}: {shown}\n")
    settings = dataclasses.replace(ScriptSettings(), repeat=args.repeat)
    with reported(ScriptError):
        script = build_script(doc, settings, args.commune)
    if args.explain:
        from audio.explain import explain

        write_text(explain(doc, script, _dictionary(args.dictionary)))
        return 0
    if args.normalized:
        from audio.normalize import normalize_text

        script = normalize_text(script, _dictionary(args.dictionary))
    write_text(script + "\n")
    return 0


def _add_script(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "script",
        help="print the broadcast script of a bulletin (what the official reviews)",
        description="Clean a bulletin (drop header, addressees, recipients, signature, links) and print "
        "its broadcast script, paragraphs separated by blank lines.",
    )
    parser.add_argument("file", metavar="FILE", help=FILE_HELP)
    parser.add_argument("--normalized", action="store_true", help="print the text exactly as it will be spoken")
    parser.add_argument("--commune", metavar="NAME", help="commune name; adds the intro and outro")
    parser.add_argument("--repeat", action="store_true", help="read the bulletin twice, with a repeat announcement")
    parser.add_argument("--show-removed", action="store_true", help="list what was dropped, and why, on standard error")
    parser.add_argument("--explain", action="store_true",
                        help="instead of the script, print every line dropped and every rewrite made, each with its rule")
    _dictionary_option(parser)
    parser.set_defaults(func=_script)


def _render(args: argparse.Namespace) -> int:
    import dataclasses
    import os
    import shutil

    from audio.document import clean_document
    from audio.pipeline import RenderError, render_text
    from audio.script import ScriptError, ScriptSettings, build_script
    from audio.settings import StandaloneAudioConfig
    from loaxa.config import ConfigError, load_config

    text = read_bulletin(args.file)
    if not text.strip():
        raise CommandError("the bulletin is empty")
    with reported(ConfigError):
        settings = load_config(StandaloneAudioConfig).audio
        if args.engine:
            settings = dataclasses.replace(settings, engine=args.engine)
    settings = settings.for_commune(args.commune)
    output = Path(args.output) if args.output else Path("bulletin.ogg" if args.file == "-" else Path(args.file).with_suffix(".ogg").name)
    if args.file != "-" and output.resolve() == Path(args.file).resolve():
        raise CommandError("the output would overwrite the bulletin; choose another name with -o")
    with reported(ScriptError):
        script = build_script(clean_document(text), ScriptSettings(), args.commune)
    store = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "loaxa" / "media"
    try:
        media = render_text(script, settings, store, dictionary=_dictionary(args.dictionary))
        shutil.copyfile(media.path, output)
    except RenderError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"cannot write {output}: {exc.strerror}") from None
    voice = f"{media.engine} (offline voice)" if media.offline_voice else media.engine
    sys.stdout.write(
        f"engine: {voice}\nduration: {media.duration_s:.1f} s\n"
        f"loudness: {media.loudness_lufs:.1f} LUFS, true peak {media.true_peak_dbtp:.1f} dBTP\noutput: {output}\n"
    )
    return 0


def _add_render(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "render",
        help="render a bulletin to broadcast-ready Opus audio",
        description="Clean a bulletin, build its script, speak it, master it to the loudness target and "
        "write Opus in Ogg. Prints the engine used, the duration, the loudness and the output path. "
        "Settings come from LOAXA_AUDIO_* environment variables; renders are cached in ~/.cache/loaxa.",
    )
    parser.add_argument("file", metavar="FILE", help=FILE_HELP)
    parser.add_argument("-o", "--output", metavar="OUT", help="output file (default: FILE's name with .ogg, here)")
    parser.add_argument("--engine", choices=["auto", "gtts", "espeak"], help="speech engine (default: auto, or LOAXA_AUDIO_ENGINE)")
    parser.add_argument("--commune", metavar="NAME", help="commune name: adds the intro and outro, and its speech rate")
    _dictionary_option(parser)
    parser.set_defaults(func=_render)


def _corpus_check(args: argparse.Namespace) -> int:
    from audio import corpus

    folder, baseline = Path(args.folder), Path(args.baseline)
    if not folder.is_dir():
        raise CommandError(f"{folder} is not a folder of documents")
    count = len(corpus.documents(folder))
    if not count:
        raise CommandError(f"{folder} has no .txt documents")
    if baseline.exists() and not baseline.is_dir():
        raise CommandError(f"the baseline {baseline} is not a folder")
    dictionary = _dictionary(args.dictionary)
    if args.update:
        changed = corpus.update(folder, baseline, dictionary)
        sys.stderr.write(f"baseline {baseline}: {len(changed)} file(s) rewritten or removed, {count} document(s)\n")
        return 0
    found = corpus.check(folder, baseline, dictionary)
    for difference in found:
        sys.stdout.write(difference.diff)
    sys.stdout.flush()
    if found:
        kinds = ", ".join(f"{d.name} ({d.kind})" for d in found)
        sys.stderr.write(
            f"{len(found)} difference(s) from the baseline in {count} document(s): {kinds}\n"
            f"if they are meant, run: loaxa corpus check {folder} --baseline {baseline} --update\n"
        )
        return 1
    sys.stderr.write(f"{count} document(s) speak as the baseline\n")
    return 0


def _add_corpus(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "corpus",
        help="regression checks over a folder of documents",
        description="Quality checks run over a folder of bulletins (.txt files directly in it).",
    )
    actions = parser.add_subparsers(dest="corpus_command", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check",
        help="compare the spoken output of every document with a stored baseline",
        description="Clean, script and normalize every .txt document of FOLDER and compare what would be spoken "
        "with the file of the same name in the baseline folder. Prints the differences as unified diffs and exits "
        "with 1 when there are any; --update rewrites the baseline instead.",
    )
    check.add_argument("folder", metavar="FOLDER", help="folder of .txt documents")
    check.add_argument("--baseline", metavar="DIR", required=True, help="folder of the stored spoken outputs")
    check.add_argument("--update", action="store_true", help="rewrite the baseline to the current output")
    _dictionary_option(check)
    check.set_defaults(func=_corpus_check)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the audio subcommands; imports stay inside the handlers."""
    _add_normalize(sub)
    _add_script(sub)
    _add_render(sub)
    _add_corpus(sub)
