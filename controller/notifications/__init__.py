"""Notifications to the people concerned: the bell in the UI, e-mail over SMTP, and a JSON webhook.

The names below are the package's public API.  They load on first use, so importing one
module of the package (its settings, its kinds) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from controller.notifications.kinds import (APPROVAL_WAITING, BROADCAST_REJECTED, DEVICE_OFFLINE,
                                                EMERGENCY_UNREACHED, KINDS, Notice)
    from controller.notifications.service import (AllRead, DeliveryView, NotificationEmail, NotificationRead,
                                                  Notifications, NotificationView)
    from controller.notifications.settings import NotificationSettings

_EXPORTS = {
    "APPROVAL_WAITING": "kinds",
    "AllRead": "service",
    "BROADCAST_REJECTED": "kinds",
    "DEVICE_OFFLINE": "kinds",
    "DeliveryView": "service",
    "EMERGENCY_UNREACHED": "kinds",
    "KINDS": "kinds",
    "Notice": "kinds",
    "NotificationEmail": "service",
    "NotificationRead": "service",
    "NotificationSettings": "settings",
    "NotificationView": "service",
    "Notifications": "service",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
