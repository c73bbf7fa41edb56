"""The media cache on real files and a real HTTP server: verify, evict what no plan needs."""

from __future__ import annotations

import threading
import time

import pytest

from support.agent_rig import MediaServer, make_clip
from support.harness import wait_for
from edge_agent.media_cache import Downloads, MediaCache, MediaError, MediaRef
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


def test_a_file_held_for_playback_or_being_fetched_is_never_evicted(parts):
    (playing, other), _server, store, cache = parts
    cache.fetch(ref(playing))
    assert cache.hold(ref(playing)) == cache.path(ref(playing))
    cache.evict([])  # a newer plan no longer lists the item the playback thread holds
    assert cache.has(ref(playing))
    cache.release(ref(playing))
    cache.evict([])
    assert not cache.has(ref(playing))
    with cache._file_lock(ref(other)):  # a download of it in progress
        cache.evict([])
    cache.fetch(ref(other))
    assert cache.has(ref(other))


def test_downloads_run_side_by_side_earliest_start_first(tmp_path):
    big = make_clip(tmp_path / "store", 40.0, freq=350)
    late, early = (make_clip(tmp_path / "store", 0.5, freq=f) for f in (500, 900))
    server = MediaServer(tmp_path / "store", hold_after=64 * 1024, hold_only=big.name)
    store = AgentStore(tmp_path / "agent" / "agent.db")
    cache = MediaCache(tmp_path / "agent" / "media", store, server.url)
    stop = threading.Event()
    done: list[str] = []
    downloads = Downloads(cache, stop, workers=1, base_delay=0.05, on_done=lambda r, p: done.append(r.name))
    try:
        downloads.start()
        downloads.want(ref(big), 10.0)
        wait_for(lambda: server.requested() == [big.name], what="the large download under way")
        downloads.want(ref(late), 300.0)
        downloads.want(ref(early), 200.0)
        assert downloads.pending(ref(early)) and downloads.pending(ref(late))
        downloads.want(ref(late), time.time(), now=True)  # an item is due: it does not queue behind the large file
        wait_for(lambda: cache.has(ref(late)), what="the due file, beside the stalled one")
        assert not cache.has(ref(big))
        server.release()
        wait_for(lambda: cache.has(ref(big)) and cache.has(ref(early)), timeout=20, what="the queue drained")
        assert server.requested() == [big.name, late.name, early.name]
        assert done.index(big.name) < done.index(early.name)
        assert not downloads.busy()
    finally:
        stop.set()
        downloads.shutdown()
        store.close()
        server.close()
