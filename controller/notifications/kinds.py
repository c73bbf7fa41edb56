"""What is worth telling someone, and who is concerned.

Each kind names the roles it concerns; a notice about a unit or devices reaches only people
whose scope covers them, and a notice about one person's work (a rejected broadcast) reaches
that person only.  Roles, not names, so a new approver hears from their first day.
"""

from __future__ import annotations

from dataclasses import dataclass

EMERGENCY_UNREACHED = "emergency_unreached"
DEVICE_OFFLINE = "device_offline"
APPROVAL_WAITING = "approval_waiting"
BROADCAST_REJECTED = "broadcast_rejected"


@dataclass(frozen=True)
class Kind:
    name: str
    label_vi: str
    roles: frozenset[str]  # empty: only the people the notice names


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind(EMERGENCY_UNREACHED, "Phát khẩn cấp không tới cụm loa", frozenset({"admin", "approver"})),
    Kind(DEVICE_OFFLINE, "Cụm loa mất kết nối", frozenset({"admin", "approver"})),
    Kind(APPROVAL_WAITING, "Lịch phát chờ duyệt", frozenset({"admin", "approver"})),
    Kind(BROADCAST_REJECTED, "Lịch phát bị từ chối", frozenset()),
)}


@dataclass(frozen=True)
class Notice:
    """One thing to tell: who is concerned is worked out from ``kind``, ``devices``/``units`` and ``people``.

    ``key`` makes raising idempotent: the same outage or the same submission is told once.
    """

    kind: str
    key: str
    title: str
    body: str
    link: str = ""
    devices: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    people: tuple[str, ...] = ()  # usernames named by the notice itself
    exclude: tuple[str, ...] = ()  # usernames not to tell (the author of what waits for approval)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown notification kind {self.kind!r}")
