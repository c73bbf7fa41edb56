"""Settings of the map page (``[map]``): the tile source, none by default so nothing leaves the controller."""

from __future__ import annotations

from dataclasses import dataclass

from loaxa.config import ConfigError, setting


@dataclass(frozen=True)
class MapSettings:
    tile_url: str = setting("", "tile source for the map, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png or a local tile server (empty: no tiles, the units' boundaries only)")
    tile_attribution: str = setting("", "attribution the tile source requires, shown on the map")
    max_zoom: int = setting(18, "closest zoom level of the map")

    def __post_init__(self) -> None:
        if self.tile_url and not (self.tile_url.startswith(("http://", "https://", "/")) and "{z}" in self.tile_url):
            raise ConfigError(f"map.tile_url must be an http(s) or /path URL template with {{z}}, {{x}}, {{y}}, got {self.tile_url!r}")
        if not 1 <= self.max_zoom <= 22:
            raise ConfigError(f"map.max_zoom must be from 1 to 22, got {self.max_zoom}")
