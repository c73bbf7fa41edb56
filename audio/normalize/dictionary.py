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
from typing import Any, Callable, Mapping

DEFAULT_NAME = "abbreviations.toml"
FOREIGN_NAME = "foreign.toml"
_SECTIONS = ("abbreviations", "words", "foreign")
_MAX_KEY = 64
_MAX_VALUE = 200


class DictionaryError(ValueError):
    """A dictionary file that cannot be used; the message names the file and the entry."""


def _canonical(word: str) -> str:
    """Case, spaces and hyphens do not matter when matching a ``[words]`` entry."""
    return re.sub(r"[\s\-‐–]+", "", word).casefold()


def _word_pattern(key: str) -> str:
    parts = re.split(r"[\s\-]+", key)
    return "(?i:" + r"[\s\-–]*".join(re.escape(p) for p in parts) + ")" + _edge_after(key)


def _edge_after(key: str) -> str:
    """A key ending in a dot or slash (``Q.``, ``TP.``) may run into what follows (``Q.1``)."""
    return r"(?![\w])" if key[-1:].isalnum() else ""


def _letters(text: str) -> str:
    return "".join(c for c in text if c.isalpha())


def case_variant_ok(token: str, key: str | None = None) -> bool:
    """May ``token``, written in another case than the dictionary's key, stand for it?

    ``Ubnd`` and ``Mttq`` may stand for UBND and MTTQ; ``Ca`` (a word) may not stand for CA,
    nor a lower-case two-letter token for anything.  A token shaped like a Vietnamese
    syllable is a word, whatever its case.  Words that the key itself writes in lower case
    (the ``xã`` of ``BCHQS xã``) are words anyway and are not held against the token."""
    from audio.normalize.letters import is_syllable

    parts = [p for p in re.split(r"[\s.]+", token) if p]
    if key is not None:
        key_parts = [p for p in re.split(r"[\s.]+", key) if p]
        if len(key_parts) == len(parts):
            parts = [p for p, k in zip(parts, key_parts) if not (k.islower() and p.casefold() == k)]
    letters = _letters("".join(parts))
    if len(letters) < 2 or any(is_syllable(part) for part in parts):
        return False
    return len(letters) >= 3 or letters[0].isupper()


@dataclass(frozen=True)
class Abbreviations:
    """Two tables: ``abbreviations`` match exactly and case-sensitively (``TT`` is not ``tt``);
    ``words`` match in any case and with or without a hyphen (``Covid -19`` = ``COVID-19``)."""

    abbreviations: Mapping[str, str] = field(default_factory=dict)
    words: Mapping[str, str] = field(default_factory=dict)
    source: str = ""
    foreign: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("abbreviations", "words", "foreign"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    @classmethod
    def from_mapping(cls, entries: Mapping[str, str], source: str = "local") -> "Abbreviations":
        """A commune's own dictionary (abbreviation → reading), matched like ``[abbreviations]``.

        Raises ``DictionaryError`` for an empty, multi-line or over-long key or reading."""
        return cls(_check_table(source, "abbreviations", dict(entries)), source=source)

    @functools.cached_property
    def _by_canonical(self) -> dict[str, str]:
        return {_canonical(k): v for k, v in {**self.words, **self.foreign}.items()}

    @functools.cached_property
    def _foreign_keys(self) -> frozenset[str]:
        return frozenset(_canonical(k) for k in self.foreign)

    @functools.cached_property
    def _by_case(self) -> dict[str, str]:
        """Abbreviation keys by their case-folded form, when only one key folds that way."""
        folded: dict[str, set[str]] = {}
        for key in self.abbreviations:
            folded.setdefault(key.casefold(), set()).add(key)
        return {k: next(iter(v)) for k, v in folded.items() if len(v) == 1}

    @functools.cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        alternatives = [(k, "(?i:" + re.escape(k) + ")" + _edge_after(k)) for k in self.abbreviations]
        alternatives += [(k, _word_pattern(k)) for k in (*self.words, *self.foreign)]
        if not alternatives:
            return None
        alternatives.sort(key=lambda kv: len(kv[0]), reverse=True)
        body = "|".join(p for _, p in alternatives)
        return re.compile(rf"(?<![\w])(?:{body})")

    def lookup(self, text: str) -> str | None:
        """The spoken form of one abbreviation or word, or None when the dictionary lacks it.

        An abbreviation written in another case (``Ubnd``) is found too, unless it is shaped
        like a Vietnamese word (see :func:`case_variant_ok`)."""
        if text in self.abbreviations:
            return self.abbreviations[text]
        found = self._by_canonical.get(_canonical(text))
        if found is not None:
            return found
        key = self._by_case.get(text.casefold())
        return self.abbreviations[key] if key is not None and case_variant_ok(text, key) else None

    def is_foreign(self, text: str) -> bool:
        return text not in self.abbreviations and _canonical(text) in self._foreign_keys

    def expand(self, line: str, on_foreign: Callable[[str, str], None] | None = None) -> str:
        """Replace every dictionary entry in ``line`` by its spoken form, longest entry first.

        ``on_foreign(word, spoken)`` hears of each foreign-table entry met."""
        pattern = self._pattern
        if pattern is None:
            return line

        def one(m: re.Match[str]) -> str:
            spoken = self.lookup(m.group(0))
            if spoken is None:
                return m.group(0)
            if on_foreign is not None and self.is_foreign(m.group(0)):
                on_foreign(m.group(0), spoken)
            return spoken

        return pattern.sub(one, line)

    def merged(self, other: "Abbreviations", remove: tuple[str, ...] = ()) -> "Abbreviations":
        """This dictionary with ``other``'s entries added or replacing, and ``remove`` dropped."""
        abbreviations = {**self.abbreviations, **other.abbreviations}
        words = {**self.words, **other.words}
        foreign = {**self.foreign, **other.foreign}
        for key in remove:
            abbreviations.pop(key, None)
            words = {k: v for k, v in words.items() if _canonical(k) != _canonical(key)}
            foreign = {k: v for k, v in foreign.items() if _canonical(k) != _canonical(key)}
        return Abbreviations(abbreviations, words, f"{self.source} + {other.source}", foreign)

    @property
    def size(self) -> int:
        """How many entries the three tables hold together."""
        return len(self.abbreviations) + len(self.words) + len(self.foreign)


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
    if name in ("words", "foreign"):
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
    return Abbreviations(tables["abbreviations"], tables["words"], where, tables["foreign"]), tuple(remove)


@functools.lru_cache(maxsize=1)
def default_abbreviations() -> Abbreviations:
    """The dictionary shipped with Loa Xã: the abbreviations and the foreign-word table."""
    data = resources.files("audio.data")
    dictionary, _ = parse_dictionary(data.joinpath(DEFAULT_NAME).read_text(encoding="utf-8"), f"built-in {DEFAULT_NAME}")
    foreign, _ = parse_dictionary(data.joinpath(FOREIGN_NAME).read_text(encoding="utf-8"), f"built-in {FOREIGN_NAME}")
    merged = dictionary.merged(foreign)
    return Abbreviations(merged.abbreviations, merged.words, "built-in", merged.foreign)


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
