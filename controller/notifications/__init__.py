"""Notifications to the people concerned: the bell in the UI, e-mail over SMTP, and a JSON webhook."""

from controller.notifications.kinds import (APPROVAL_WAITING, BROADCAST_REJECTED, DEVICE_OFFLINE, EMERGENCY_UNREACHED,
                                            KINDS, Notice)
from controller.notifications.service import DeliveryView, Notifications, NotificationView
from controller.notifications.settings import NotificationSettings

__all__ = ["APPROVAL_WAITING", "BROADCAST_REJECTED", "DEVICE_OFFLINE", "EMERGENCY_UNREACHED", "KINDS", "Notice",
           "DeliveryView", "Notifications", "NotificationView", "NotificationSettings"]
