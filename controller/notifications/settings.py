"""Settings of notifications (``[notifications]``): when a silent cluster is worth telling, and where to send."""

from __future__ import annotations

from dataclasses import dataclass

from loaxa.config import ConfigError, setting


@dataclass(frozen=True)
class NotificationSettings:
    offline_minutes: int = setting(15, "a cluster silent this long is reported to the administrators and approvers of its unit")
    check_s: float = setting(30.0, "seconds between checks for silent clusters and for deliveries due")
    retry_s: float = setting(60.0, "first wait before a failed e-mail or webhook is tried again (doubling after each failure)")
    max_attempts: int = setting(8, "tries of one delivery before it is given up (logged, and kept as failed)")
    smtp_host: str = setting("", "SMTP server for e-mail notifications (empty: no e-mail)")
    smtp_port: int = setting(25, "SMTP port")
    smtp_starttls: bool = setting(False, "upgrade the SMTP connection with STARTTLS before sending")
    smtp_user: str = setting("", "SMTP account (empty: no authentication)")
    smtp_password: str = setting("", "SMTP password")
    smtp_from: str = setting("loaxa@localhost", "sender address of notification e-mails")
    timeout_s: float = setting(10.0, "seconds an SMTP or webhook delivery may take")
    webhook_url: str = setting("", "every notification is POSTed here as JSON, e.g. to a Zalo or SMS gateway (empty: none)")
    webhook_secret: str = setting("", "when set, each webhook request carries X-Loaxa-Signature: sha256=<HMAC of the body>")

    def __post_init__(self) -> None:
        if self.offline_minutes < 1:
            raise ConfigError(f"notifications.offline_minutes must be at least 1, got {self.offline_minutes}")
        if self.check_s <= 0 or self.retry_s <= 0 or self.timeout_s <= 0:
            raise ConfigError("notifications.check_s, retry_s and timeout_s must be positive")
        if self.max_attempts < 1:
            raise ConfigError(f"notifications.max_attempts must be at least 1, got {self.max_attempts}")
        if self.webhook_url and not self.webhook_url.startswith(("http://", "https://")):
            raise ConfigError(f"notifications.webhook_url must be an http(s) address, got {self.webhook_url!r}")
        if not 0 < self.smtp_port < 65536:
            raise ConfigError(f"notifications.smtp_port must be a TCP port, got {self.smtp_port}")
