"""What every speech engine offers the pipeline.

An engine turns one paragraph of normalized Vietnamese into mono 16-bit audio.  Its
``identity`` names everything that changes the sound (voice, rate, language), so the
render cache can tell two renders apart without listening to them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from pydub import AudioSegment


class EngineUnavailable(RuntimeError):
    """The engine cannot speak right now (offline, throttled, not installed); another may."""


class SpeechEngine(ABC):
    name: ClassVar[str]
    concurrency: ClassVar[int] = 1
    """How many paragraphs may be spoken at once (a network engine keeps to one)."""

    @property
    @abstractmethod
    def identity(self) -> dict[str, Any]:
        """Every parameter that changes the sound, as plain JSON values."""

    def ready(self) -> bool:
        """Whether trying this engine now is worthwhile (False while it is known to fail)."""
        return True

    @abstractmethod
    def speak(self, text: str) -> AudioSegment:
        """Speak one paragraph; raise :class:`EngineUnavailable` if the engine cannot."""
