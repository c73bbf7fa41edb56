"""The broadcast script: a cleaned bulletin framed by the commune's intro and outro.

Commune radio opens and closes every item the same way ("Đài Truyền thanh xã … xin thông
báo: …", "… vừa thông báo …") and often reads an important notice twice.  The wording is
a per-commune setting, not code.  The script this module builds is a draft: the official
edits and approves it, and rendering reads the approved text, never this draft.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pathlib import Path

from audio.document import CleanedDocument
from audio.normalize import Abbreviations, load_abbreviations
from loaxa.config import ConfigError, setting

COMMUNE_PLACEHOLDERS = ("{xã}", "{tên xã}", "{commune}")
TITLE_PLACEHOLDERS = ("{tiêu đề}", "{title}")
REPEAT_WITHOUT_COMMUNE = "Xin nhắc lại:"
MAX_COMMUNE_NAME = 80
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


class ScriptError(ValueError):
    """A script that cannot be built (nothing to read, an unusable commune name)."""


@dataclass(frozen=True)
class ScriptSettings:
    """How a commune frames its bulletins.  Templates may use {xã} (or {tên xã}, {commune})
    for the commune's name and {tiêu đề} (or {title}) for the bulletin's title."""

    intro: str = setting("Đài Truyền thanh xã {xã} xin thông báo:", "opening line read before each bulletin")
    outro: str = setting(
        "Đài Truyền thanh xã {xã} vừa thông báo {tiêu đề}. Xin cảm ơn bà con đã chú ý lắng nghe.",
        "closing line read after each bulletin",
    )
    repeat: bool = setting(False, "read the bulletin a second time, after the repeat announcement")
    repeat_intro: str = setting(
        "Sau đây, Đài Truyền thanh xã {xã} xin nhắc lại:", "announcement read before the second reading"
    )
    abbreviations_file: str = setting(
        "", "TOML file of local abbreviations that add to or replace the built-in dictionary (empty: none)"
    )

    def __post_init__(self) -> None:
        known = set(COMMUNE_PLACEHOLDERS + TITLE_PLACEHOLDERS)
        for name in ("intro", "outro", "repeat_intro"):
            template = getattr(self, name)
            if "\n" in template:
                raise ConfigError(f"script setting {name}: must be a single line")
            unknown = sorted(set(_PLACEHOLDER.findall(template)) - known)
            if unknown:
                raise ConfigError(
                    f"script setting {name}: unknown placeholder(s) {unknown}; "
                    f"use {COMMUNE_PLACEHOLDERS[0]} and {TITLE_PLACEHOLDERS[0]}"
                )

    def dictionary(self) -> Abbreviations:
        """The abbreviation dictionary to normalize with: built-in, plus the local file if set.

        Raises ``DictionaryError`` naming the file when it cannot be used."""
        return load_abbreviations(Path(self.abbreviations_file) if self.abbreviations_file else None)


def _uses_commune(template: str) -> bool:
    return any(p in template for p in COMMUNE_PLACEHOLDERS)


def _render(template: str, commune: str, title: str) -> str:
    text = template
    for placeholder in COMMUNE_PLACEHOLDERS:
        text = text.replace(placeholder, commune)
    for placeholder in TITLE_PLACEHOLDERS:
        text = text.replace(placeholder, title)
    return re.sub(r"\s+([.,:;!?])", r"\1", " ".join(text.split()))


def check_commune(commune: str | None) -> str | None:
    """A commune name as given by a user: stripped, one line, not too long; None when blank."""
    if commune is None or not commune.strip():
        return None
    name = " ".join(commune.split())
    if len(name) > MAX_COMMUNE_NAME or "\n" in commune.strip():
        raise ScriptError(f"commune name must be one line of at most {MAX_COMMUNE_NAME} characters")
    return name


def build_script(doc: CleanedDocument, settings: ScriptSettings, commune: str | None) -> str:
    """The draft broadcast script, paragraphs separated by blank lines.

    With a commune the script opens with the intro and closes with the outro; with
    ``settings.repeat`` the title and body are read again after the repeat announcement.
    """
    if doc.is_empty:
        raise ScriptError("nothing to read: the bulletin has no title or body text left after cleaning")
    name = check_commune(commune)
    title = doc.title.rstrip(" .:;,!?")
    body = [p for p in (doc.title, *doc.paragraphs) if p]
    parts: list[str] = []
    if name:
        parts.append(_render(settings.intro, name, title))
    parts += body
    if settings.repeat:
        if name or not _uses_commune(settings.repeat_intro):
            parts.append(_render(settings.repeat_intro, name or "", title))
        else:
            parts.append(REPEAT_WITHOUT_COMMUNE)
        parts += body
    if name:
        parts.append(_render(settings.outro, name, title))
    return "\n\n".join(parts)
