"""Speech engines: Google's voice through gTTS, espeak-ng offline, and the 'auto' policy."""

from audio.tts.base import EngineUnavailable, SpeechEngine

__all__ = ["EngineUnavailable", "SpeechEngine"]
