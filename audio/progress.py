"""What a render reports while it works, so a person waiting on it sees how far it has come.

The pipeline calls an optional :data:`ProgressCallback` with :class:`RenderProgress`
events; wording them for people is the caller's business (the audio package speaks
no UI language).  A failing callback is logged and ignored: progress is a courtesy,
never a reason for a render to fail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Literal

log = logging.getLogger(__name__)

Stage = Literal["reading", "normalizing", "speaking", "fallback", "mastering", "storing", "done"]
STAGES: tuple[Stage, ...] = ("reading", "normalizing", "speaking", "fallback", "mastering", "storing", "done")


@dataclass(frozen=True)
class RenderProgress:
    """One step of a render.

    ``done``/``total`` count paragraphs while ``stage`` is "speaking", and OCR pages while
    it is "reading" (an uploaded scan or photo, before any render); 0/0 otherwise.
    ``engine`` is the voice at work; for "fallback" it is the voice that just failed.
    ``fraction`` (0 to 1) is how far the whole render has come, estimated from what each
    step typically costs: with espeak-ng nearly all the time goes into mastering, with
    Google's voice into speaking.
    """

    stage: Stage
    done: int = 0
    total: int = 0
    engine: str = ""
    fraction: float = 0.0


ProgressCallback = Callable[[RenderProgress], None]


def notify(progress: ProgressCallback | None, event: RenderProgress) -> None:
    """Hand ``event`` to ``progress`` if there is one; a callback's own error never stops the render."""
    if progress is None:
        return
    try:
        progress(event)
    except Exception:
        log.exception("the render progress callback failed on %s", event.stage)
