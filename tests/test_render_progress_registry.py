"""The in-memory render progress registry: owner only, expiry after the last update, bounded, and its wording."""

from __future__ import annotations

import threading

import pytest

from audio.progress import RenderProgress
from controller.errors import InputError, NotFound
from controller.plans.render_progress import RenderProgressRegistry, describe


class Clock:
    """A hand-turned clock, so expiry is tested without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_only_the_owner_sees_the_latest_step_in_vietnamese():
    reg = RenderProgressRegistry()
    report = reg.start("abcd1234", "canbo")
    assert reg.get("abcd1234", "canbo").to_dict() == {"stage": "preparing", "done": 0, "total": 0, "engine": "",
                                             "fraction": 0.0, "message": "Đang chuẩn bị…"}
    report(RenderProgress("speaking", 12, 40, "espeak", 0.0150001))
    assert reg.get("abcd1234", "canbo").to_dict() == {"stage": "speaking", "done": 12, "total": 40, "engine": "espeak",
                                             "fraction": 0.015, "message": "Đang đọc đoạn 12/40"}
    with pytest.raises(NotFound) as other:
        reg.get("abcd1234", "chutich")
    assert other.value.status == 404 and "Không có tiến độ" in other.value.message
    with pytest.raises(InputError, match="đang được dùng"):
        reg.start("abcd1234", "chutich")


@pytest.mark.parametrize("bad", ["short", "x" * 65, "có dấu-123", "a/b/c/d/e", 12345678, None, ""])
def test_malformed_ids_are_refused(bad):
    reg = RenderProgressRegistry()
    with pytest.raises(InputError) as err:
        reg.start(bad, "canbo")
    assert err.value.status == 400 and err.value.field == "progress_id"
    with pytest.raises(InputError) as err:
        reg.get(bad, "canbo")
    assert err.value.status == 400
    assert len(reg) == 0


def test_entries_expire_after_their_last_update():
    clock = Clock()
    reg = RenderProgressRegistry(ttl_s=600, clock=clock)
    slow = reg.start("slow-render", "canbo")
    reg.start("idle-render", "canbo")
    clock.now += 500
    slow(RenderProgress("mastering", engine="espeak"))
    clock.now += 200
    assert reg.get("slow-render", "canbo").message == "Đang chuẩn hóa âm lượng và mã hóa"
    with pytest.raises(NotFound):
        reg.get("idle-render", "canbo")
    clock.now += 601
    assert len(reg) == 0


def test_the_registry_is_bounded_and_forgets_the_stalest_first():
    reg = RenderProgressRegistry(max_entries=3)
    reports = {i: reg.start(f"render-{i:04d}", "canbo") for i in range(3)}
    reports[0](RenderProgress("storing"))
    reg.start("render-0003", "canbo")
    assert len(reg) == 3
    with pytest.raises(NotFound):
        reg.get("render-0001", "canbo")
    assert reg.get("render-0000", "canbo").stage == "storing"
    reports[1](RenderProgress("done"))  # a forgotten render's late steps do not bring it back
    assert len(reg) == 3


def test_concurrent_reports_keep_the_registry_consistent():
    reg = RenderProgressRegistry(max_entries=50)

    def render(n: int) -> None:
        report = reg.start(f"thread-{n:04d}", f"user{n}")
        for done in range(1, 101):
            report(RenderProgress("speaking", done, 100, "espeak"))

    threads = [threading.Thread(target=render, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert all(reg.get(f"thread-{n:04d}", f"user{n}").done == 100 for n in range(8))


def test_every_stage_has_its_own_words():
    said = {describe(RenderProgress(stage, 1, 2, "espeak")) for stage in
            ("normalizing", "speaking", "mastering", "storing", "done")}
    assert len(said) == 5
    assert describe(RenderProgress("fallback", engine="gtts")) == \
        "Giọng Google không phản hồi, chuyển sang giọng đọc ngoại tuyến"
    assert describe(RenderProgress("speaking", 0, 40, "espeak")) == "Đang đọc đoạn 0/40"


@pytest.mark.parametrize(("event", "said"), [
    (RenderProgress("reading", 0, 3, fraction=0.0), "Đang nhận dạng chữ trang 1/3"),
    (RenderProgress("reading", 2, 3, fraction=0.67), "Đang nhận dạng chữ trang 3/3"),
    (RenderProgress("reading", 0, 1, fraction=0.0), "Đang nhận dạng chữ trong ảnh"),
    (RenderProgress("reading", 1, 1, fraction=1.0), "Đã nhận dạng xong"),
])
def test_an_upload_being_read_is_described_page_by_page(event, said):
    assert describe(event) == said
