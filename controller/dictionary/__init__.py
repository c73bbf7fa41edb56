"""The commune's own dictionary: readings the officials taught the machine.

Upper-case tokens no rule explains are spelled and listed to the official as "chưa rõ cách
đọc"; foreign words are read as written.  One click stores the right reading here, with an
audit entry, and every later render of the commune uses it.

The names below are the package's public API.  They load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from controller.dictionary.store import CommuneDictionary, DictionaryEntry, Finding, Review

_EXPORTS = {
    "CommuneDictionary": "store",
    "DictionaryEntry": "store",
    "Finding": "store",
    "Review": "store",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
