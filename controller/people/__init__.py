"""People and access: accounts, roles and their scope, sign-in settings, and the
``loaxa user`` commands.

The names below are the package's public API.  They load on first use, so importing one
module of the package (a settings class, a command's ``register``) stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from controller.people.users import AuthError, PERMISSIONS, ROLES, Scope, User, Users
    from controller.people.settings import PeopleSettings

_EXPORTS = {
    "AuthError": "users",
    "PERMISSIONS": "users",
    "PeopleSettings": "settings",
    "ROLES": "users",
    "Scope": "users",
    "User": "users",
    "Users": "users",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
