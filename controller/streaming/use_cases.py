"""The use cases of the relay sources page, for one Actor: add, edit, remove, and the fallback notice.

Each checks the actor's permission (``manage``) and scope (a source of a unit belongs to
that unit's administrators; a shared source, to administrators of the whole tree), changes
the ``relay_sources`` row and writes its audit entry in one transaction.  A source still
aired by a relay programme that is not over is not removed: the refusal names those
programmes, which must be cancelled first, so no approved slot is left without a source.
A removed source keeps its row (past relays and the audit trail name it) and leaves every
list.  A new URL, kind or fallback goes on air at once: a relay running the source (or
falling back to it) is restarted with it, and listeners rejoin at the live point.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Mapping

from controller.errors import Conflict, InputError, Refused
from controller.labels import broadcast_status_vi
from controller.people import access
from controller.people.actor import Actor
from controller.plans.bulletins import record_media
from controller.streaming.sources import EDITABLE, NOTICE_MAX_S, NoticeChoice, RelaySource, RelayUse, notice_too_long

if TYPE_CHECKING:
    from controller.service import Controller

OPTIONAL = ("unit_id", "fallback_source_id", "fallback_media_sha256", "id")
ON_AIR_FIELDS = {"url", "kind", "fallback_source_id", "fallback_media_sha256"}  # what a running relay is restarted for


@dataclass(frozen=True)
class SourceRemoved:
    """What the remove button answers: the source is off the lists, its past relays keep naming it."""

    source_id: str
    name: str
    removed_at: str
    removed_by: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _none_for_empty(data: Mapping[str, Any]) -> dict[str, Any]:
    """The page's form leaves "" for "none" in an optional field."""
    return {k: (None if k in OPTIONAL and v == "" else v) for k, v in data.items()}


def _require_source_scope(actor: Actor, unit_id: str | None) -> None:
    if unit_id is None:
        if not actor.scope.whole_tree:
            raise Refused("out_of_scope", "Nguồn dùng chung chỉ quản trị viên toàn hệ thống mới thêm, sửa hoặc xóa "
                                          "được; hãy chọn đơn vị của mình cho nguồn này.")
        return
    access.require_unit(actor, unit_id)


def _shown(src: RelaySource) -> dict[str, Any]:
    """A source as the audit trail keeps it: the URL without a listener password."""
    return {"name": src.name, "url": src.display_url, "kind": src.kind, "unit_id": src.unit_id,
            "fallback_source_id": src.fallback_source_id, "fallback_media_sha256": src.fallback_media_sha256}


def viewed(actor: Actor, src: RelaySource) -> RelaySource:
    """A source as the actor may read it: a listener password in its URL only for those who manage sources
    (for the others ``url`` is its ``display_url``; such a copy is for reading, never for relaying)."""
    return src if actor.can("manage") else replace(src, url=src.display_url)


def visible_sources(c: Controller, actor: Actor) -> list[RelaySource]:
    return [viewed(actor, s) for s in c.streaming.sources.list()]


def visible_source(c: Controller, actor: Actor, source_id: str) -> RelaySource:
    return viewed(actor, c.streaming.sources.get(source_id))


def add_source(c: Controller, actor: Actor, data: Any) -> RelaySource:
    """Register a relay source (validated in :class:`~controller.streaming.sources.Sources`); audited."""
    access.require_permission(actor, "manage")
    if not isinstance(data, Mapping):
        raise InputError("invalid_json", "Yêu cầu phải là một đối tượng JSON.")
    data = _none_for_empty(data)
    unit_id = data.get("unit_id")
    if unit_id is None or isinstance(unit_id, str):
        _require_source_scope(actor, unit_id)
    with c.db.tx():
        src = c.streaming.sources.add(data.get("name"), data.get("url"), data.get("kind"), unit_id,
                                      data.get("fallback_source_id"), data.get("fallback_media_sha256"),
                                      actor.username, data.get("id"))
        c.audit.record(actor, "relay_source_added", src.id, {"url": src.display_url, "kind": src.kind})
    return src


def edit_source(c: Controller, actor: Actor, source_id: str, changes: Any) -> RelaySource:
    """Change a source's name, URL, kind, unit or fallbacks; audited with each field before and after."""
    access.require_permission(actor, "manage")
    if not isinstance(changes, Mapping):
        raise InputError("invalid_json", "Yêu cầu phải là một đối tượng JSON.")
    changes = _none_for_empty(changes)
    if not changes:
        raise InputError("nothing_to_change", f"Không có gì để sửa; các trường sửa được: {', '.join(EDITABLE)}.")
    with c.db.tx():
        before = c.streaming.sources.get(source_id)
        _require_source_scope(actor, before.unit_id)
        if changes.get("url") == before.display_url:
            changes.pop("url")  # the form shows the URL with its listener password hidden: unchanged
        if "unit_id" in changes and (changes["unit_id"] is None or isinstance(changes["unit_id"], str)):
            _require_source_scope(actor, changes["unit_id"])
        after = c.streaming.sources.update(source_id, changes)
        old, new = _shown(before), _shown(after)
        diff = {k: {"before": old[k], "after": new[k]} for k in old if old[k] != new[k]}
        if diff:
            c.audit.record(actor, "relay_source_edited", source_id, {"changes": diff})
    if set(diff) & ON_AIR_FIELDS:
        c.streaming.source_changed(source_id)
    return after


def removal_refusal(uses: list[RelayUse], users: list[RelaySource]) -> Conflict | None:
    """Why a source cannot be removed yet, in Vietnamese, or None."""
    if uses:
        named = "; ".join(f"«{u.title}» ({broadcast_status_vi(u.status, in_sentence=True)})" for u in uses[:5])
        more = f" và {len(uses) - 5} lịch khác" if len(uses) > 5 else ""
        return Conflict("source_in_use", f"Không xóa được: nguồn này còn được dùng cho {len(uses)} lịch tiếp sóng chưa "
                        f"kết thúc: {named}{more}. Hãy hủy các lịch đó trước (ở trang của từng lịch phát), rồi xóa nguồn.",
                        "_form", [u.to_dict() for u in uses])
    if users:
        named = ", ".join(f"«{s.name}»" for s in users)
        return Conflict("source_is_fallback", f"Không xóa được: nguồn này đang là nguồn dự phòng của {named}. Hãy đổi "
                        "nguồn dự phòng của các nguồn đó trước.", "_form", [{"source_id": s.id} for s in users])
    return None


def remove_source(c: Controller, actor: Actor, source_id: str) -> SourceRemoved:
    """Take a source off the lists (audited); refused while a relay programme not over, or another source, uses it."""
    access.require_permission(actor, "manage")
    with c.db.tx():
        src = c.streaming.sources.get(source_id)
        _require_source_scope(actor, src.unit_id)
        refusal = removal_refusal(c.streaming.sources.active_relays(source_id),
                                  c.streaming.sources.fallback_users(source_id))
        if refusal is not None:
            raise refusal
        at = c.streaming.sources.mark_removed(source_id, actor.username)
        c.audit.record(actor, "relay_source_removed", source_id, {"name": src.name, "url": src.display_url})
    return SourceRemoved(source_id, src.name, at, actor.username)


def upload_notice(c: Controller, actor: Actor, source_id: str, data: bytes, filename: str) -> RelaySource:
    """A short recorded notice uploaded as the source's fallback: checked and mastered as any recording
    (unreadable, silent or longer than :data:`NOTICE_MAX_S` is refused, nothing stored), then set; audited."""
    access.require_permission(actor, "manage")
    src = c.streaming.sources.get(source_id)
    _require_source_scope(actor, src.unit_id)
    media = c.bulletins.master_recording(data, filename, max_seconds=NOTICE_MAX_S, field="notice",
                                         too_long=notice_too_long)
    with c.db.tx() as conn:
        record_media(conn, media)
        after = c.streaming.sources.update(source_id, {"fallback_media_sha256": media.sha256})
        c.audit.record(actor, "relay_source_edited", source_id, {"changes": {"fallback_media_sha256": {
            "before": src.fallback_media_sha256, "after": media.sha256}}, "notice_file": filename[:200],
            "duration_s": round(media.duration_s, 1)})
    c.streaming.source_changed(source_id)
    return after


def notice_choices(c: Controller, actor: Actor) -> list[NoticeChoice]:
    """The short recordings an administrator may pick as a fallback notice (their own area's)."""
    access.require_permission(actor, "manage")
    return c.streaming.sources.notice_choices(lambda author: access.may_see_person(actor, c.users, author))


@dataclass(frozen=True)
class SourcePage:
    """What the page of one source shows: the source, what still airs it, and what its form offers."""

    source: RelaySource
    relays: tuple[RelayUse, ...]
    fallback_of: tuple[RelaySource, ...]
    other_sources: tuple[RelaySource, ...]
    notices: tuple[NoticeChoice, ...]

    @property
    def removal_refused(self) -> str:
        """Why the remove button would be refused now ("" when it would not)."""
        refusal = removal_refusal(list(self.relays), list(self.fallback_of))
        return refusal.message if refusal is not None else ""


def source_page(c: Controller, actor: Actor, source_id: str) -> SourcePage:
    access.require_permission(actor, "manage")
    src = c.streaming.sources.get(source_id)
    return SourcePage(src, tuple(c.streaming.sources.active_relays(source_id)),
                      tuple(c.streaming.sources.fallback_users(source_id)),
                      tuple(s for s in c.streaming.sources.list() if s.id != source_id),
                      tuple(notice_choices(c, actor)))
