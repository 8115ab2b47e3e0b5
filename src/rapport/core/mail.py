"""E-mail plumbing shared by every sender."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage


class EmailNotConfiguredError(RuntimeError):
    """Raised instead of silently dropping mail when EMAIL_URL is not set."""

    def __init__(self) -> None:
        super().__init__(
            "E-mail is not configured: set EMAIL_URL (for example smtp+tls://user:pass@host:587)."
        )


class NotConfiguredBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        if not email_messages:
            return 0
        raise EmailNotConfiguredError


def describe_send_failure(error: BaseException) -> str:
    """One line for a user: why their e-mail did not go out."""
    if isinstance(error, EmailNotConfiguredError):
        return str(error)
    reason: Any = getattr(error, "strerror", None) or error
    return f"The mail server did not accept the message ({reason}); check EMAIL_URL."
