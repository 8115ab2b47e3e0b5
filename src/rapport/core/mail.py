"""E-mail plumbing shared by every sender."""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Mapping, Sequence

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

# The end of every message about a problem the administrator fixes in the configuration.
CHECK = "check EMAIL_URL."
MAX_REASON = 200  # characters of the server's own words kept in a message
MAX_ADDRESSES = 3  # refused recipients named one by one
# "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1000)" → "wrong version number"
SSL_NOISE = re.compile(r"^\[[^\]]*\]\s*|\s*\(_ssl\.c:\d+\)$")


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
    """One line for a user: why their e-mail did not go out.

    SMTP replies arrive as a code and bytes (``550``, ``b'5.1.1 mailbox unavailable'``);
    they are shown as ``(550 5.1.1 mailbox unavailable)``, never as a Python repr.
    A 4xx reply is temporary (try again later), a 5xx one is a refusal.
    """
    if isinstance(error, EmailNotConfiguredError):
        return str(error)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return _recipients_refused(error.recipients)
    if isinstance(error, smtplib.SMTPResponseException):
        reply = _reply(error.smtp_code, error.smtp_error)
        if isinstance(error, smtplib.SMTPAuthenticationError):
            return f"The mail server did not accept the user name or password ({reply}); {CHECK}"
        if isinstance(error, smtplib.SMTPSenderRefused):
            sender = _text(error.sender)
            return (
                f"The mail server refused the sender address {sender} ({reply}); "
                "check DEFAULT_FROM_EMAIL."
            )
        if isinstance(error, smtplib.SMTPConnectError | smtplib.SMTPHeloError):
            return f"The mail server refused the connection ({reply}); {CHECK}"
        if _temporary(error.smtp_code):
            return f"The mail server did not accept the message for now ({reply}); try again later."
        return f"The mail server refused the message ({reply})."
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return f"The mail server closed the connection unexpectedly; {CHECK}"
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return (
            f"The mail server does not support what Rapport asked for ({_reason(error)}); {CHECK}"
        )
    if isinstance(error, smtplib.SMTPException):
        return f"Sending the e-mail failed ({_reason(error)}); {CHECK}"
    if isinstance(error, ssl.SSLError):
        return f"No secure connection to the mail server ({_ssl_reason(error)}); {CHECK}"
    if isinstance(error, TimeoutError):
        return f"The mail server did not answer in time; {CHECK}"
    if isinstance(error, socket.gaierror):
        return f"The mail server's name could not be found ({_reason(error)}); {CHECK}"
    if isinstance(error, OSError):
        return f"Could not reach the mail server ({_reason(error)}); {CHECK}"
    return f"The e-mail could not be sent ({_reason(error)})."


def _recipients_refused(recipients: Mapping[str, tuple[int, bytes | str]]) -> str:
    """``{"a@x": (550, b"no such user"), ...}`` → one sentence, same replies grouped."""
    replies: dict[str, list[str]] = {}
    for address, (code, message) in recipients.items():
        replies.setdefault(_reply(code, message), []).append(_text(address))
    if not replies:
        return "The mail server refused every recipient."
    parts = []
    for reply, addresses in replies.items():
        who = "the recipient" if len(addresses) == 1 else "the recipients"
        named = ", ".join(addresses[:MAX_ADDRESSES])
        if len(addresses) > MAX_ADDRESSES:
            named += f" and {len(addresses) - MAX_ADDRESSES} more"
        parts.append(f"{who} {named} ({reply})")
    later = all(_temporary(code) for code, _ in recipients.values())
    return f"The mail server refused {'; '.join(parts)}{'; try again later' if later else ''}."


def _reply(code: int | None, message: bytes | str | None) -> str:
    text = _text(message)
    if code is None or code < 0:  # smtplib uses -1 when the server said nothing parsable
        return text or "no reply"
    return f"{code} {text}".strip()


def _temporary(code: int | None) -> bool:
    return code is not None and 400 <= code < 500


def _text(value: object) -> str:
    """A single clean line: bytes decoded, line breaks and runs of spaces collapsed."""
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", errors="replace")
    text = " ".join(str(value or "").split()).rstrip(".")
    if len(text) > MAX_REASON:
        text = text[: MAX_REASON - 1].rstrip() + "…"
    return text


def _reason(error: BaseException) -> str:
    strerror = getattr(error, "strerror", None)
    if strerror:
        return _text(strerror)
    text = _text(error.args[0] if len(error.args) == 1 else str(error))
    return text or type(error).__name__


def _ssl_reason(error: ssl.SSLError) -> str:
    verify = getattr(error, "verify_message", None)
    if verify:
        return _text(verify)
    text = SSL_NOISE.sub("", str(error.strerror or ""))
    return _text(text or error.reason) or type(error).__name__
