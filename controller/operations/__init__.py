"""Operations: backup and restore, retention and the controller's install role.

The names below are the package's public API.  They load on first use, so importing one
module of the package (a settings class, a command's ``register``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from controller.operations.backup import BackupError, backup, restore
    from controller.operations.retention import Retention
    from controller.operations.retention_settings import RetentionSettings

_EXPORTS = {
    "BackupError": "backup",
    "Retention": "retention",
    "RetentionSettings": "retention_settings",
    "backup": "backup",
    "restore": "backup",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
