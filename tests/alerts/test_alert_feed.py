"""The poller against a real feed server on loopback: conditional GET, each document once, hostile ones refused."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest

from support.cap_docs import BILLION_LAUGHS, OASIS, vi_alert
from support.cap_feed_server import FeedServer
from controller.alerts.feed import FeedPoller, parse_feed
from controller.alerts.intake import read_document
from controller.alerts.sources import Source
from controller.errors import InputError
from support.harness import free_port, wait_for

NOW = datetime.now(timezone.utc)


@pytest.fixture
def server():
    s = FeedServer()
    yield s
    s.close()


class Sink:
    def __init__(self):
        self.alerts = []
        self.refused = []
        self.listings = []

    def document(self, source, entry, data):
        try:
            self.alerts.append(read_document(data, source))
        except InputError as exc:
            self.refused.append(exc.code)

    def listing(self, source, entries):
        self.listings.append([e.cap_url.rsplit("/", 1)[1] for e in entries])


def poller(server, sink, **kw):
    src = Source(id="kttv-son-ha", kind="feed", url=f"{server.url}/feed.xml", interval_s=5, **kw)
    return FeedPoller(src, sink.document, sink.listing)


def test_conditional_get_and_each_document_fetched_once(server):
    server.publish("sh-1.xml", vi_alert("SH-1", sent=NOW, expires=NOW + timedelta(hours=2)))
    sink = Sink()
    p = poller(server, sink)
    assert p.poll_once() == 1
    assert p.poll_once() == 0
    assert server.requests[-1] == ("/feed.xml", 304)
    server.publish("sh-2.xml", vi_alert("SH-2", sent=NOW, expires=NOW + timedelta(hours=2)))
    assert p.poll_once() == 1
    assert [a.identifier for a in sink.alerts] == ["SH-1", "SH-2"]
    assert [r for r in server.requests if r[0].startswith("/cap/")] == [("/cap/sh-1.xml", 200), ("/cap/sh-2.xml", 200)]
    server.unlist("sh-1.xml")
    p.poll_once()
    assert sink.listings[-1] == ["sh-2.xml"]


def test_a_document_that_failed_to_download_is_fetched_on_the_next_poll_of_an_unchanged_feed(server):
    server.publish("sh-3.xml", vi_alert("SH-3", sent=NOW, expires=NOW + timedelta(hours=2)))
    doc = server.documents.pop("sh-3.xml")  # listed, but the document server answers 404 for now
    sink = Sink()
    p = poller(server, sink)
    assert p.poll_once() == 0
    assert server.requests[-1] == ("/cap/sh-3.xml", 404)
    server.documents["sh-3.xml"] = doc  # back, while the feed itself did not change
    assert p.poll_once() == 1
    assert [a.identifier for a in sink.alerts] == ["SH-3"]
    assert p.poll_once() == 0
    assert server.requests[-1] == ("/feed.xml", 304)


def test_oasis_examples_served_by_the_feed_are_read(server):
    for path in OASIS:
        server.publish(path.name, path.read_bytes())
    sink = Sink()
    assert poller(server, sink).poll_once() == 4
    assert sorted(a.identifier for a in sink.alerts) == sorted(
        ["43b080713727", "KSTO1055887203", "TRI13970876.2", "KAR0-0306112239-SW"])


def test_hostile_and_huge_documents_are_refused_and_the_poller_keeps_going(server, caplog):
    server.publish("bomb.xml", BILLION_LAUGHS)
    server.streams["huge.xml"] = 50 * 1024 * 1024
    server.listed.append("huge.xml")
    server.publish("bad-schema.xml", vi_alert("SH-B", sent=NOW, expires=None).replace(b"Actual", b"Real"))
    server.publish("good.xml", vi_alert("SH-G", sent=NOW, expires=NOW + timedelta(hours=1)))
    sink = Sink()
    p = poller(server, sink)
    with caplog.at_level(logging.WARNING):
        p.poll_once()
    assert [a.identifier for a in sink.alerts] == ["SH-G"]
    assert sorted(sink.refused) == ["cap_schema_invalid", "xml_forbidden_construct"]
    assert "huge.xml refused (xml_too_large)" in caplog.text
    assert p.health.failures_in_row == 0
    p.poll_once()  # refused documents are not fetched again
    assert sum(1 for r in server.requests if r[0] == "/cap/bomb.xml") == 1


def test_an_unreachable_or_broken_feed_is_counted_and_the_thread_keeps_polling(server, caplog):
    dead = Source(id="chet", kind="feed", url=f"http://127.0.0.1:{free_port()}/feed.xml", interval_s=5)
    sink = Sink()
    p = FeedPoller(dead, sink.document)
    with caplog.at_level(logging.WARNING):
        assert p.poll_once() == 0 and p.poll_once() == 0
    assert p.health.failures_in_row == 2 and "ConnectionError" in p.health.last_error
    server.publish("sh-1.xml", vi_alert("SH-1", sent=NOW, expires=NOW + timedelta(hours=2)))
    live = poller(server, sink).start()
    try:
        wait_for(lambda: sink.alerts, timeout=10, what="the polling thread to read the feed")
        assert live._thread.is_alive()
    finally:
        live.stop()
    assert not live._thread.is_alive()


def test_rss_and_atom_without_cap_links():
    rss = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><guid>a</guid>'
           b'<link>https://x.example/a.xml</link></item></channel></rss>')
    assert [e.cap_url for e in parse_feed(rss, "https://x.example/")] == ["https://x.example/a.xml"]
    empty = (b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>none</id>'
             b"<title>There are no active watches, warnings or advisories</title></entry></feed>")
    assert parse_feed(empty, "https://x.example/") == []
    with pytest.raises(InputError):
        parse_feed(b"<html/>", "https://x.example/")
