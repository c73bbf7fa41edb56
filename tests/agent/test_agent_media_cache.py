"""The media cache on real files and a real HTTP server: verify, evict what no plan needs."""

from __future__ import annotations

import pytest

from support.agent_rig import MediaServer, make_clip
from edge_agent.media_cache import MediaCache, MediaError, MediaRef
from edge_agent.store import AgentStore


@pytest.fixture
def parts(tmp_path):
    clips = [make_clip(tmp_path / "store", 0.5, freq=f) for f in (300, 600)]
    server = MediaServer(tmp_path / "store")
    store = AgentStore(tmp_path / "agent" / "agent.db")
    cache = MediaCache(tmp_path / "agent" / "media", store, server.url)
    yield clips, server, store, cache
    store.close()
    server.close()


def ref(clip) -> MediaRef:
    return MediaRef(clip.sha256, "ogg", clip.size)


def test_eviction_keeps_what_the_plan_needs_and_drops_the_rest(parts):
    (keep, drop), _server, store, cache = parts
    for c in (keep, drop):
        cache.fetch(ref(c))
    stale_part = cache.dir / f"{'ab' * 32}.ogg.part"
    stale_part.write_bytes(b"half a download of a cancelled item")
    cache.evict([ref(keep)])
    assert cache.has(ref(keep)) and cache.path(ref(keep)).read_bytes() == keep.path.read_bytes()
    assert not cache.path(ref(drop)).exists() and not store.has_media(drop.sha256)
    assert not stale_part.exists()


def test_a_file_that_does_not_match_its_signed_sha256_is_refused(parts):
    (clip, _), _server, store, cache = parts
    lying = MediaRef(clip.sha256, "ogg", clip.size)
    cache.path(lying).parent.mkdir(parents=True, exist_ok=True)
    (cache.dir / f"{lying.name}.part").write_bytes(b"x" * clip.size)  # a complete but wrong partial file
    with pytest.raises(MediaError, match="refusing it"):
        cache.fetch(lying)
    assert not cache.has(lying) and not (cache.dir / f"{lying.name}.part").exists()
    assert cache.fetch(lying).read_bytes() == clip.path.read_bytes()  # the next try downloads it afresh
