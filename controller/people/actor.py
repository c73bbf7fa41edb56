"""Who acts: the person (or the system) behind one use case, decided once per request.

Every use case of the controller takes an :class:`Actor`.  The web layer builds it once from
the signed-in session and the client's address; the command line and the background jobs
use :meth:`Actor.system`.  The use case reads from it everything its policy needs (role,
scope) and everything its audit entry records (name, address), so neither is looked up
twice nor passed around as loose strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controller.people.users import PERMISSIONS, Scope, User

NO_SCOPE = Scope(frozenset(), frozenset())
WHOLE_SCOPE = Scope(None, None)


@dataclass(frozen=True)
class Actor:
    """A person signed in (``user_id`` set) or a named system part (``cli``, ``system``).

    ``unit_id`` is where the role holds (None: the whole tree); ``scope`` is that subtree's
    units and devices, resolved once.  ``ip`` is the client's address, for the audit trail.
    """

    username: str
    role: str = ""
    unit_id: str | None = None
    ip: str = ""
    user_id: int | None = None
    display_name: str = ""
    scope: Scope = field(default=NO_SCOPE, compare=False)

    @classmethod
    def of(cls, user: User, scope: Scope, ip: str = "") -> Actor:
        """The actor of a signed-in ``user`` whose role holds in ``scope``."""
        return cls(username=user.username, role=user.role, unit_id=user.unit_id, ip=ip, user_id=user.id,
                   display_name=user.display_name, scope=scope)

    @classmethod
    def anonymous(cls, ip: str = "", username: str = "") -> Actor:
        """Nobody signed in (a sign-in attempt under ``username``): may do nothing, sees nothing."""
        return cls(username=username, ip=ip)

    @classmethod
    def system(cls, name: str = "system", ip: str = "") -> Actor:
        """A part of the product acting on its own (``cli``, ``system``): the whole tree, every permission."""
        return cls(username=name, role="system", ip=ip, scope=WHOLE_SCOPE)

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None

    @property
    def is_system(self) -> bool:
        return self.role == "system"

    def can(self, permission: str) -> bool:
        """Whether the role grants ``permission`` (within :attr:`scope`)."""
        return self.is_system or self.role in PERMISSIONS.get(permission, frozenset())
