"""The two ways out of the controller: an e-mail over SMTP, and a JSON POST to a webhook.

Each raises :class:`DeliveryFailed` with a short reason; the caller keeps the delivery and
tries again later, so a mail server or gateway that is down loses nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from typing import Any, Mapping

from controller.notifications.settings import NotificationSettings


class DeliveryFailed(Exception):
    """A delivery that did not get through this time."""


def send_email(settings: NotificationSettings, to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.timeout_s) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(f"SMTP {settings.smtp_host}:{settings.smtp_port}: {exc}") from None


def post_webhook(settings: NotificationSettings, payload: Mapping[str, Any]) -> None:
    data = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "loaxa-notifications"}
    if settings.webhook_secret:
        digest = hmac.new(settings.webhook_secret.encode(), data, hashlib.sha256).hexdigest()
        headers["X-Loaxa-Signature"] = f"sha256={digest}"
    request = urllib.request.Request(settings.webhook_url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=settings.timeout_s) as response:
            if not 200 <= response.status < 300:
                raise DeliveryFailed(f"webhook answered {response.status}")
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"webhook answered {exc.code}") from None
    except (OSError, ValueError) as exc:
        raise DeliveryFailed(f"webhook {settings.webhook_url}: {exc}") from None
