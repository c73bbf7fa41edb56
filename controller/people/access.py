"""Who may act on what: the scope and approval rules every use case checks for its Actor.

A role holds in one node of the administrative tree and everything below it; these checks
refuse, with a Vietnamese message and nothing stored, an actor reaching outside that
subtree, and an author approving their own broadcast (the two-person rule).  They live here,
once, so the API, the pages and the command line apply the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from controller.errors import InputError, Refused
from controller.people.actor import Actor
from controller.people.users import WHOLE_TREE, User, Users, scope_of
from controller.tree_records import Device, Unit

if TYPE_CHECKING:
    from controller.service import Controller

FORBIDDEN_MESSAGE = "Bạn không có quyền thực hiện việc này."


def out_of_scope(what: str) -> Refused:
    return Refused("out_of_scope", f"'{what}' nằm ngoài đơn vị bạn phụ trách.")


def require_permission(actor: Actor, permission: str) -> None:
    """For a use case whose need depends on the input (an emergency broadcast, say)."""
    if not actor.can(permission):
        raise Refused("forbidden", FORBIDDEN_MESSAGE)


def require_unit(actor: Actor, unit_id: Any, *, allow_top: bool = False) -> None:
    """Refuse a unit outside the actor's subtree (``allow_top``: None is a new top-level unit)."""
    s = actor.scope
    if unit_id is None and allow_top:
        if not s.whole_tree:
            raise Refused("out_of_scope", "Chỉ quản trị toàn hệ thống được thêm đơn vị cấp cao nhất.")
        return
    if not isinstance(unit_id, str) or not unit_id:
        raise InputError("invalid_unit", "Chưa chọn đơn vị hợp lệ.", "unit_id")
    if not s.has_unit(unit_id):
        raise out_of_scope(unit_id)


def require_targets(actor: Actor, targets: Any) -> None:
    """Refuse any broadcast target (unit or device) outside the subtree (malformed ones are the domain's)."""
    if isinstance(targets, str):
        targets = [targets]
    if isinstance(targets, list):
        for t in targets:
            if isinstance(t, str) and not actor.scope.has_target(t):
                raise out_of_scope(t)


def require_devices(actor: Actor, device_ids: Iterable[str]) -> None:
    device_ids = list(device_ids)
    if not actor.scope.covers(device_ids):
        raise out_of_scope(", ".join(d for d in device_ids if not actor.scope.has_device(d)))


# -- what of the tree the actor holds: read by the devices, reports and fleet use cases --------
def units_in_scope(c: Controller, actor: Actor) -> list[Unit]:
    return [u for u in c.registry.units() if actor.scope.has_unit(u.id)]


def devices_in_scope(c: Controller, actor: Actor) -> list[Device]:
    return [d for d in c.registry.devices() if actor.scope.has_device(d.id)]


def subtree(c: Controller, unit_id: str) -> frozenset[str]:
    """Ids of ``unit_id`` and every unit below it (the query that decides people's scope too)."""
    return scope_of(c.db, unit_id).units or frozenset()


def devices_under(c: Controller, actor: Actor, unit_id: str | None) -> list[Device]:
    """The actor's devices, or only those at or below ``unit_id`` (which must be in the actor's scope)."""
    devices = devices_in_scope(c, actor)
    if unit_id:
        if unit_id not in {u.id for u in units_in_scope(c, actor)}:
            raise InputError("out_of_scope", "Đơn vị này ngoài phạm vi của bạn.", "unit")
        under = subtree(c, unit_id)
        devices = [d for d in devices if d.unit_id in under]
    return devices


def may_see_person(actor: Actor, users: Users, username: str) -> bool:
    """Whether work by ``username`` (a bulletin, an audit entry) is visible: the actor's own, or
    by someone of the actor's subtree; whole-tree actors see everything."""
    if actor.scope.whole_tree or (actor.signed_in and username == actor.username):
        return True
    person = users.find(username)
    return person is not None and person.unit_id is not None and actor.scope.has_unit(person.unit_id)


def manages(actor: Actor, user: User) -> bool:
    """Whether the actor's subtree holds ``user`` (whole-tree accounts only for whole-tree actors)."""
    return actor.scope.whole_tree or (user.unit_id is not None and actor.scope.has_unit(user.unit_id))


def require_manages(actor: Actor, user: User) -> User:
    if not manages(actor, user):
        raise Refused("out_of_scope", f"Người dùng '{user.username}' nằm ngoài đơn vị bạn phụ trách.")
    return user


def require_grantable_unit(actor: Actor, unit_id: Any) -> None:
    """Refuse granting a scope the actor does not hold themselves."""
    if unit_id is None or unit_id == WHOLE_TREE:
        if not actor.scope.whole_tree:
            raise Refused("out_of_scope", "Chỉ quản trị viên toàn hệ thống được giao phạm vi toàn bộ.")
        return
    require_unit(actor, unit_id)


@dataclass(frozen=True)
class Authorship:
    """Who put their hand to a broadcast: its drafter, its bulletin's author, whoever changed it last.

    The drafter alone is not enough for the two-person rule: an approver could point someone
    else's pending broadcast at their own bulletin, or rewrite it, and then approve it alone
    while the record still named the other person as its drafter.
    """

    drafter: str
    bulletin_author: str = ""
    last_editor: str = ""


def check_two_person(actor: Actor, authors: Authorship, enabled: bool) -> None:
    """Refuse approval by anyone who wrote or last changed the broadcast, unless the rule is off here."""
    if not enabled:
        return
    for name, message, field in (
            (authors.drafter, "Người soạn lịch phát không được tự phê duyệt", None),
            (authors.bulletin_author, "Người viết bản tin không được tự phê duyệt lịch phát nó", "status"),
            (authors.last_editor, "Người sửa lịch phát lần cuối không được tự phê duyệt", "status")):
        if name and name == actor.username:
            raise Refused("two_person_rule", f"{message}; cần một người khác duyệt.", field)
