"""OCR words the official must look at before a preview is made from that text.

When an upload is read by OCR and some words came back with low confidence, the controller
remembers, for the person who uploaded it, the text and those words.  A preview (a bulletin
render) of that same text is refused until the person says they compared the marked words
with the page image (``ocr_ack``).  The browser asks too, but the rule holds for any client.

Kept in memory for a working session: an upload not rendered within :data:`KEEP_S` is
forgotten, and the registry never holds more than :data:`MAX_ENTRIES`.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

KEEP_S = 12 * 3600.0
MAX_ENTRIES = 500
SHOWN_WORDS = 5


def text_key(person: str, text: str) -> str:
    """The same text whatever line endings the browser's form encoding gave it."""
    normal = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").strip().split("\n"))
    return hashlib.sha256(f"{person}\x00{normal}".encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class PendingCheck:
    words: tuple[str, ...]
    at: float


class OcrChecks:
    """Per person and text, the low-confidence words not yet acknowledged."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: OrderedDict[str, PendingCheck] = OrderedDict()

    def note(self, person: str, text: str, words: tuple[str, ...]) -> None:
        if not person or not words:
            return
        with self._lock:
            self._pending[text_key(person, text)] = PendingCheck(words, self._clock())
            while len(self._pending) > MAX_ENTRIES:
                self._pending.popitem(last=False)

    def unchecked(self, person: str, text: str) -> tuple[str, ...]:
        """The words still to be acknowledged for this text (empty when none)."""
        with self._lock:
            found = self._pending.get(text_key(person, text))
            if found is None:
                return ()
            if self._clock() - found.at > KEEP_S:
                del self._pending[text_key(person, text)]
                return ()
            return found.words

    def acknowledged(self, person: str, text: str) -> None:
        with self._lock:
            self._pending.pop(text_key(person, text), None)
