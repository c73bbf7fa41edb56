"""The abbreviation dictionary: a TOML data file, overridable per deployment.

Administrative and health writing is dense with abbreviations (UBND, BCĐ, F0, 5K) that a
speech engine would spell or mangle.  They live in data, not code, so a commune can add its
own (a local cooperative, a hamlet's short name) without a release.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

DEFAULT_NAME = "abbreviations.toml"
_SECTIONS = ("abbreviations", "words")
_MAX_KEY = 64
_MAX_VALUE = 200


class DictionaryError(ValueError):
    """A dictionary file that cannot be used; the message names the file and the entry."""


def _canonical(word: str) -> str:
    """Case, spaces and hyphens do not matter when matching a ``[words]`` entry."""
    return re.sub(r"[\s\-‐–]+", "", word).casefold()


def _word_pattern(key: str) -> str:
    parts = re.split(r"[\s\-]+", key)
    return "(?i:" + r"[\s\-–]*".join(re.escape(p) for p in parts) + ")"


@dataclass(frozen=True)
class Abbreviations:
    """Two tables: ``abbreviations`` match exactly and case-sensitively (``TT`` is not ``tt``);
    ``words`` match in any case and with or without a hyphen (``Covid -19`` = ``COVID-19``)."""

    abbreviations: Mapping[str, str] = field(default_factory=dict)
    words: Mapping[str, str] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "abbreviations", MappingProxyType(dict(self.abbreviations)))
        object.__setattr__(self, "words", MappingProxyType(dict(self.words)))

    @functools.cached_property
    def _by_canonical(self) -> dict[str, str]:
        return {_canonical(k): v for k, v in self.words.items()}

    @functools.cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        alternatives = [(k, re.escape(k)) for k in self.abbreviations]
        alternatives += [(k, _word_pattern(k)) for k in self.words]
        if not alternatives:
            return None
        alternatives.sort(key=lambda kv: len(kv[0]), reverse=True)
        body = "|".join(p for _, p in alternatives)
        return re.compile(rf"(?<![\w])(?:{body})(?![\w])")

    def lookup(self, text: str) -> str | None:
        """The spoken form of one abbreviation or word, or None when the dictionary lacks it."""
        if text in self.abbreviations:
            return self.abbreviations[text]
        return self._by_canonical.get(_canonical(text))

    def expand(self, line: str) -> str:
        """Replace every dictionary entry in ``line`` by its spoken form, longest entry first."""
        pattern = self._pattern
        if pattern is None:
            return line
        return pattern.sub(lambda m: self.lookup(m.group(0)) or m.group(0), line)

    def merged(self, other: "Abbreviations", remove: tuple[str, ...] = ()) -> "Abbreviations":
        """This dictionary with ``other``'s entries added or replacing, and ``remove`` dropped."""
        abbreviations = {**self.abbreviations, **other.abbreviations}
        words = {**self.words, **other.words}
        for key in remove:
            abbreviations.pop(key, None)
            words = {k: v for k, v in words.items() if _canonical(k) != _canonical(key)}
        return Abbreviations(abbreviations, words, f"{self.source} + {other.source}")


def _check_table(where: str, name: str, table: Any) -> dict[str, str]:
    if not isinstance(table, dict):
        raise DictionaryError(f"{where}: [{name}] must be a table of \"SHORT\" = \"spoken words\"")
    out: dict[str, str] = {}
    for key, value in table.items():
        if not key.strip() or len(key) > _MAX_KEY or "\n" in key:
            raise DictionaryError(f"{where}: [{name}] has an empty, multi-line or over-long key {key!r}")
        if not isinstance(value, str) or not value.strip() or len(value) > _MAX_VALUE or "\n" in value:
            raise DictionaryError(
                f"{where}: [{name}] {key!r} must map to one line of text (at most {_MAX_VALUE} characters)"
            )
        out[key.strip()] = " ".join(value.split())
    if name == "words":
        seen: dict[str, str] = {}
        for key in out:
            other = seen.setdefault(_canonical(key), key)
            if other != key:
                raise DictionaryError(f"{where}: [words] {other!r} and {key!r} are the same word")
    return out


def parse_dictionary(text: str, where: str) -> tuple[Abbreviations, tuple[str, ...]]:
    """Validate one dictionary document; returns it and the keys it asks to remove."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DictionaryError(f"{where}: not valid TOML: {exc}") from None
    unknown = set(data) - {*_SECTIONS, "remove"}
    if unknown:
        raise DictionaryError(f"{where}: unknown section(s) {sorted(unknown)}; expected {list(_SECTIONS)} and remove")
    remove = data.get("remove", [])
    if not isinstance(remove, list) or not all(isinstance(k, str) for k in remove):
        raise DictionaryError(f"{where}: remove must be a list of keys")
    tables = {name: _check_table(where, name, data.get(name, {})) for name in _SECTIONS}
    return Abbreviations(tables["abbreviations"], tables["words"], where), tuple(remove)


@functools.lru_cache(maxsize=1)
def default_abbreviations() -> Abbreviations:
    """The dictionary shipped with Loa Xã."""
    text = resources.files("audio.data").joinpath(DEFAULT_NAME).read_text(encoding="utf-8")
    dictionary, _ = parse_dictionary(text, f"built-in {DEFAULT_NAME}")
    return dictionary


def load_abbreviations(override: Path | None = None) -> Abbreviations:
    """The built-in dictionary, with a deployment's override file applied on top when given.

    The override uses the same two tables; its entries add to or replace the built-in ones,
    and a top-level ``remove = ["TT"]`` drops built-in entries that are wrong locally.
    """
    base = default_abbreviations()
    if override is None:
        return base
    path = Path(override)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DictionaryError(f"dictionary file not found: {path}") from None
    except UnicodeDecodeError:
        raise DictionaryError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise DictionaryError(f"{path}: cannot be read: {exc.strerror}") from None
    extra, remove = parse_dictionary(text, str(path))
    return base.merged(extra, remove)
