"""Operations: backup and restore, retention, and the operator commands that act on the
controller's own files.

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
    from controller.operations.local_ops import OperatorError, operator_session

_EXPORTS = {
    "BackupError": "backup",
    "OperatorError": "local_ops",
    "Retention": "retention",
    "RetentionSettings": "retention_settings",
    "backup": "backup",
    "operator_session": "local_ops",
    "restore": "backup",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
