"""The service desk's settings, read with defaults (documented in docs/user-guide/service.md)."""

from __future__ import annotations

from email.utils import parseaddr
from typing import Any

from django.conf import settings


def _get(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def mail_in_host() -> str:
    return str(_get("SERVICE_MAIL_IN_HOST", "127.0.0.1"))


def mail_in_port() -> int:
    return int(_get("SERVICE_MAIL_IN_PORT", 2525))


def max_message_bytes() -> int:
    """The largest inbound e-mail accepted (SMTP SIZE); larger ones get 552."""
    return int(_get("SERVICE_MAIL_MAX_BYTES", 25 * 1024 * 1024))


def max_attachment_bytes() -> int:
    """The largest single attachment stored; a larger one is refused with 552."""
    return int(_get("SERVICE_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))


def reply_from() -> str:
    """The From (and Reply-To) of replies: the address `rapport mail-in` receives."""
    return str(_get("SERVICE_REPLY_FROM", settings.DEFAULT_FROM_EMAIL))


def mail_domain() -> str:
    """The right-hand side of the Message-IDs of replies."""
    configured = _get("SERVICE_MAIL_DOMAIN", "")
    if configured:
        return str(configured)
    _, address = parseaddr(reply_from())
    return address.rpartition("@")[2] or "rapport.localhost"


def send_attempts() -> int:
    """How many times a reply is tried before it stays failed for staff to retry."""
    return int(_get("SERVICE_SEND_ATTEMPTS", 5))
