"""The alert service's answers as frozen records: their ``to_dict()`` keeps the API's JSON keys.

The API has always left some keys out (a playback's delay before a start at a known time,
a repeat's signal where none goes first, a new source's ``enabled`` and ``health``); the
records keep those keys out too, so ``/api/alerts...`` answers stay the same.
"""

from __future__ import annotations

import json

from controller.alerts.sources import Source
from controller.alerts.trust import Trust
from controller.alerts.views import (Airing, AlertUnit, AlertView, FeedHealth, RenderState, Repeat, RepeatCounts,
                                     SignalAiring, SourceView)

T = "2026-12-05T03:00:00Z"


def test_a_playback_has_its_delay_only_once_it_started_at_a_known_time():
    assert Airing("loa-a", "skipped").to_dict() == {"device_id": "loa-a", "kind": "skipped"}
    assert Airing("loa-a", "finished", 303.0, True).to_dict() == {"device_id": "loa-a", "kind": "finished",
                                                                  "delay_s": 303.0, "late": True}


def test_an_alert_answers_the_api_shape_with_its_signal_only_where_one_goes_first():
    words = Repeat("al-1.1.1", 1, "alert", T, T, "planned", SignalAiring("al-1.1.1.signal", T),
                   (Airing("loa-a", "started", 2.5, False),))
    all_clear = Repeat("al-1.1.ac", 2, "all_clear", T, None, "planned")
    unit = AlertUnit("xa-a", "Xã A", "xã A: đa giác 1 phủ 83 %", 0.83, "polygon", "auto", "airing", "đang phát",
                     "quy tắc", "tinh", None, None, "hệ thống", T, True, 30, (words, all_clear))
    alert = AlertView("al-1", "tai-len", "kttv@example.vn", "SH-1", T, "Alert", "Actual", "Public", "Bão", "Bão số 3",
                      "vi-VN", 4, T, T, "active", "đang hiệu lực", True, "new", ("Phía tây",), "Cảnh báo", False,
                      "bt-1", False, T, (unit,), RenderState("ok", 1, "", None), RepeatCounts(2, 1, 2))
    d = json.loads(json.dumps(alert.to_dict()))  # plain JSON all the way down
    assert set(d) == {"id", "source_id", "sender", "identifier", "sent", "msg_type", "status", "scope", "event",
                      "headline", "language", "risk_level", "expires", "ends_at", "state", "state_vi", "on_feed",
                      "transition", "areas", "script", "draft", "bulletin_id", "signed", "received_at", "units",
                      "render", "repeats"}
    assert d["repeats"] == {"planned": 2, "aired": 1, "total": 2} and d["areas"] == ["Phía tây"]
    [u] = d["units"]
    assert set(u) == {"unit_id", "name", "explanation", "fraction", "match_kind", "action", "status", "status_vi",
                      "rule", "policy_unit", "countdown_min", "air_at", "decided_by", "decided_at", "quiet_override",
                      "repeat_every_min", "repeats"}
    first, last = u["repeats"]
    assert first["signal"] == {"item_id": "al-1.1.1.signal", "at": T, "aired": []}
    assert first["aired"] == [{"device_id": "loa-a", "kind": "started", "delay_s": 2.5, "late": False}]
    assert "signal" not in last and set(last) == {"item_id", "n", "kind", "at", "late_until", "status", "aired"}
    assert alert.unit_ids() == ("xa-a",)


def test_a_source_shows_its_trust_never_its_token_and_enabled_and_health_only_where_known():
    source = Source(id="kttv", kind="feed", name="KTTV", url="https://kttv.example.vn/cap.xml",
                    trust=Trust(senders=("kttv@example.vn",)),
                    token_sha256="ab" * 32)
    added = SourceView.of(source).to_dict()
    assert added == {"id": "kttv", "kind": "feed", "name": "KTTV", "url": "https://kttv.example.vn/cap.xml",
                     "interval_s": source.interval_s, "max_bytes": source.max_bytes, "senders": ["kttv@example.vn"],
                     "require_signature": False, "certificates": 0, "has_token": True}
    polled = SourceView.of(source, True, FeedHealth(3, 1, "HTTP 503")).to_dict()
    assert polled == {**added, "enabled": True, "health": {"polls": 3, "failures_in_row": 1, "last_error": "HTTP 503"}}
    assert SourceView.of(source, False).to_dict() == {**added, "enabled": False}
