"""The pole's hardware: the amplifier relay (gpiozero) and the volume (ALSA amixer)."""

from __future__ import annotations

import logging
import subprocess
import threading
from contextlib import contextmanager
from typing import Iterator

from edge_agent.config import RelaySettings, VolumeSettings

log = logging.getLogger(__name__)


class Relay:
    """Switches the amplifier; a no-op when no pin is configured."""

    def __init__(self, settings: RelaySettings):
        self.settings = settings
        self._device = None
        self._on = False
        self._lock = threading.Lock()
        if settings.pin:
            from gpiozero import Device, OutputDevice

            if settings.pin_factory == "mock":
                from gpiozero.pins.mock import MockFactory

                Device.pin_factory = MockFactory()
            self._device = OutputDevice(settings.pin, active_high=settings.active_high, initial_value=False)

    @property
    def is_on(self) -> bool:
        return self._on

    @property
    def pin_state(self) -> bool | None:
        """The electrical level of the pin (None without a relay); what a wiring check compares."""
        return None if self._device is None else bool(self._device.pin.state)

    def set(self, on: bool) -> bool:
        """Switch the relay; returns True if the state changed."""
        with self._lock:
            if on == self._on:
                return False
            if self._device is not None:
                self._device.on() if on else self._device.off()
            self._on = on
        log.info("amplifier relay %s", "on" if on else "off")
        return True

    def close(self) -> None:
        self.set(False)
        if self._device is not None:
            self._device.close()


class Volume:
    """The output volume: the pole's own level (set by command) and, during one play, the item's.

    ``level`` is the pole's standing volume, what it reports; ``mixer`` is what the mixer is set
    to now.  A signed item may carry its own volume (an emergency always carries at least the
    configured minimum): :meth:`for_item` sets it for that play only, then returns to the
    standing level, including one a command changed meanwhile.
    """

    def __init__(self, settings: VolumeSettings):
        self.settings = settings
        self._lock = threading.Lock()
        self._override: int | None = None
        self.level = settings.initial
        self.mixer = settings.initial
        self.apply(settings.initial)

    def apply(self, percent: int) -> None:
        """Set the standing volume (a command); it sounds at once unless an item's volume holds the mixer."""
        percent = max(0, min(100, int(percent)))
        with self._lock:
            if self._override is None and not self._set_mixer(percent):
                return
            self.level = percent
        log.info("volume %d%%", percent)

    @contextmanager
    def for_item(self, percent: int | None) -> Iterator[int]:
        """Play at ``percent`` (None: the standing level) until the block ends; yields the level in use."""
        if percent is None:
            yield self.level
            return
        percent = max(0, min(100, int(percent)))
        with self._lock:
            self._override = percent
            if percent != self.mixer:
                self._set_mixer(percent)
        try:
            yield self.mixer
        finally:
            with self._lock:
                self._override = None
                if self.mixer != self.level:
                    self._set_mixer(self.level)

    def _set_mixer(self, percent: int) -> bool:
        if self.settings.control:
            cmd = ["amixer", "-q"]
            if self.settings.card:
                cmd += ["-c", self.settings.card]
            cmd += ["sset", self.settings.control, f"{percent}%"]
            try:
                subprocess.run(cmd, check=True, capture_output=True, timeout=10)
            except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                log.error("could not set volume with amixer: %s", exc)
                return False
        self.mixer = percent
        return True
