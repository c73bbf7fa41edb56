"""People and access: accounts, roles and their scope, and sign-in settings.

The names below are the package's public API.  They load on first use, so importing one
module of the package (a settings class, a command's ``register``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from controller.people.actor import Actor
    from controller.people.users import AuthError, PERMISSIONS, ROLES, Scope, User, Users
    from controller.people.settings import PeopleSettings
    from controller.people.use_cases import PasswordReset

_EXPORTS = {
    "Actor": "actor",
    "AuthError": "users",
    "PERMISSIONS": "users",
    "PasswordReset": "use_cases",
    "PeopleSettings": "settings",
    "ROLES": "users",
    "Scope": "users",
    "User": "users",
    "Users": "users",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
