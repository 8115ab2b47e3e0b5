"""Inbound e-mail: what ``rapport mail-in`` does with each message it accepts.

Order of work, so nothing is lost: the raw bytes are stored first
(``InboundMail``), then parsed and filed. A message that cannot be parsed
stays stored and flagged for staff, and the sender's server is told with a
permanent SMTP code; a failure on our side after storing is flagged too but
accepted (we hold the message). Threading: the ticket reference in the
subject (``[#T-123]``) when the sender belongs to that ticket, else any
``In-Reply-To``/``References`` id of a message on a ticket; otherwise, or
when that ticket is closed, a new ticket.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.errors import (
    CloseBoundaryNotFoundDefect,
    HeaderParseError,
    InvalidMultipartContentTransferEncodingDefect,
    MessageDefect,
    MultipartInvariantViolationDefect,
    NoBoundaryInMultipartDefect,
    StartBoundaryNotFoundDefect,
)
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.html import strip_tags

from rapport.service import conf, services
from rapport.service.choices import InboundState, TicketChannel, TicketStatus
from rapport.service.models import Attachment, InboundMail, Ticket, TicketMessage

logger = logging.getLogger(__name__)

REFERENCE = re.compile(r"\[#T-(\d+)\]")
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# Defects that mean the structure cannot be trusted (parts may be missing).
FATAL_DEFECTS: tuple[type[MessageDefect], ...] = (
    NoBoundaryInMultipartDefect,
    StartBoundaryNotFoundDefect,
    CloseBoundaryNotFoundDefect,
    MultipartInvariantViolationDefect,
    InvalidMultipartContentTransferEncodingDefect,
)


class Refused(Exception):
    """A permanent refusal: ``reply`` is the SMTP answer."""

    def __init__(self, reply: str, reason: str) -> None:
        super().__init__(reason)
        self.reply = reply
        self.reason = reason


@dataclass
class Parsed:
    sender: str
    subject: str
    body: str
    message_id: str
    in_reply_to: str
    references: list[str]
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)


def accept(raw: bytes, mail_from: str = "", rcpt_to: list[str] | None = None) -> str:
    """Store, parse and file one inbound e-mail; returns the SMTP reply for DATA."""
    if len(raw) > conf.max_message_bytes():
        return "552 5.3.4 Message too big for this server"
    try:
        inbound = _store(raw, mail_from, rcpt_to or [])
    except Exception:
        logger.exception("Inbound e-mail could not be stored")
        return "451 4.3.0 Could not store the message; try again later"
    try:
        parsed = parse(raw)
        message = file_message(parsed)
        InboundMail.objects.filter(pk=inbound.pk).update(
            state=InboundState.THREADED, message=message, error=""
        )
    except Refused as refused:
        _flag(inbound, refused.reason)
        return refused.reply
    except Exception as error:
        # The sender must not see our internals; staff see the reason on the kept message.
        logger.exception("Inbound e-mail %s could not be filed", inbound.pk)
        try:
            _flag(inbound, f"Could not be filed: {type(error).__name__}: {error}")
        except Exception:
            logger.exception("Inbound e-mail %s could not be flagged", inbound.pk)
        return "250 2.0.0 Message kept for review"
    return f"250 2.0.0 Filed on {message.ticket.reference}"


def accept_and_close(raw: bytes, mail_from: str = "", rcpt_to: list[str] | None = None) -> str:
    """``accept`` in a server thread: its database connection is closed afterwards,
    so a long-running server never holds a stale or dropped one."""
    from django.db import connections

    try:
        return accept(raw, mail_from, rcpt_to)
    finally:
        connections.close_all()


def parse(raw: bytes) -> Parsed:
    """Read what Rapport needs from a message, or refuse it as malformed."""
    try:
        message = message_from_bytes(raw, policy=policy.default)
        if not isinstance(message, EmailMessage):  # pragma: no cover - policy.default makes one
            raise Refused("550 5.6.0 Malformed message", "Not an e-mail message.")
        defects = _defects(message)
        fatal = [d for d in defects if isinstance(d, FATAL_DEFECTS)]
        if fatal:
            raise Refused(
                "550 5.6.0 Malformed MIME structure",
                f"Malformed MIME: {type(fatal[0]).__name__}",
            )
        sender = parseaddr(str(message.get("From", "")))[1].strip().lower()
        if "@" not in sender:
            raise Refused("550 5.1.7 Missing or invalid From address", "No usable From address.")
        subject = " ".join(str(message.get("Subject", "")).split())
        body = _text_body(message)
        attachments = _attachments(message)
    except Refused:
        raise
    except (HeaderParseError, LookupError, ValueError, UnicodeError, AttributeError) as error:
        raise Refused(
            "550 5.6.0 Malformed message", f"Could not be parsed: {type(error).__name__}: {error}"
        ) from None
    return Parsed(
        sender=sender,
        subject=subject,
        body=body,
        message_id=_first_id(str(message.get("Message-ID", ""))),
        in_reply_to=_first_id(str(message.get("In-Reply-To", ""))),
        references=MESSAGE_ID.findall(str(message.get("References", ""))),
        attachments=attachments,
    )


def file_message(parsed: Parsed, now: dt.datetime | None = None) -> TicketMessage:
    """Thread a parsed message into its ticket, or open a new ticket for it."""
    now = now or timezone.now()
    if parsed.message_id:
        already = (
            TicketMessage.objects.filter(message_id=parsed.message_id)
            .select_related("ticket")
            .first()
        )
        if already is not None:
            return already  # the sender's server delivered it twice
    ticket = find_ticket(parsed)
    with transaction.atomic():
        if ticket is None:
            contact = services.match_contact(parsed.sender)
            ticket = services.open_ticket(
                None,
                services.TicketInput(
                    subject=REFERENCE.sub("", parsed.subject).strip() or "(no subject)",
                    description=parsed.body,
                    contact=contact,
                    channel=TicketChannel.EMAIL,
                    requester_email=parsed.sender,
                ),
                message_id=parsed.message_id,
                from_address=parsed.sender,
                now=now,
            )
            message = ticket.messages.get()
        else:
            message = services.receive_message(
                ticket,
                body=parsed.body or "(empty message)",
                from_address=parsed.sender,
                message_id=parsed.message_id,
                in_reply_to=parsed.in_reply_to,
                now=now,
            )
        for filename, content_type, payload in parsed.attachments:
            attachment = Attachment(
                message=message, filename=filename, content_type=content_type, size=len(payload)
            )
            attachment.file.save(filename, ContentFile(payload), save=False)
            attachment.save()
    return message


def find_ticket(parsed: Parsed) -> Ticket | None:
    """The open ticket this message belongs to, or None for a new thread."""
    tickets = Ticket.objects.live().select_related("contact")
    match = REFERENCE.search(parsed.subject)
    if match:
        ticket = tickets.filter(pk=int(match.group(1))).first()
        if ticket is not None and _sender_belongs(ticket, parsed.sender):
            return ticket if ticket.status != TicketStatus.CLOSED else None
    ids = [i for i in [parsed.in_reply_to, *parsed.references] if i]
    if ids:
        known = (
            TicketMessage.objects.filter(message_id__in=ids, ticket__deleted_at__isnull=True)
            .select_related("ticket__contact")
            .order_by("-id")
            .first()
        )
        if known is not None:
            return known.ticket if known.ticket.status != TicketStatus.CLOSED else None
    return None


def _sender_belongs(ticket: Ticket, sender: str) -> bool:
    """A reference in a subject is easy to guess: only the ticket's customer may use it."""
    if sender == ticket.requester_email:
        return True
    return ticket.contact is not None and ticket.contact.emails.filter(email=sender).exists()


def _store(raw: bytes, mail_from: str, rcpt_to: list[str]) -> InboundMail:
    now = timezone.now()
    inbound = InboundMail(
        received_at=now,
        mail_from=mail_from[:254],
        rcpt_to=", ".join(rcpt_to)[:1000],
        size=len(raw),
    )
    inbound.raw.save(f"{now:%Y/%m/%d/%H%M%S%f}.eml", ContentFile(raw), save=False)
    inbound.save()
    return inbound


def _flag(inbound: InboundMail, reason: str) -> None:
    InboundMail.objects.filter(pk=inbound.pk).update(state=InboundState.FAILED, error=reason[:500])


def _defects(message: EmailMessage) -> list[MessageDefect]:
    found: list[MessageDefect] = []
    for part in message.walk():
        found.extend(part.defects)
    return found


def _text_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    text = content if isinstance(content, str) else content.decode("utf-8", "replace")
    if part.get_content_subtype() == "html":
        text = strip_tags(text)
    return text.strip()


def _attachments(message: EmailMessage) -> list[tuple[str, str, bytes]]:
    limit = conf.max_attachment_bytes()
    found = []
    for part in message.iter_attachments():
        if not isinstance(part, EmailMessage):  # pragma: no cover
            continue
        payload = part.get_payload(decode=True)
        data: bytes = payload if isinstance(payload, bytes) else b""
        name = _safe_name(part.get_filename() or "attachment")
        if len(data) > limit:
            raise Refused(
                f"552 5.3.4 Attachment {name} is larger than {limit} bytes",
                f"Attachment {name} too large ({len(data)} bytes, limit {limit}).",
            )
        found.append((name, part.get_content_type(), data))
    return found


def _safe_name(name: str) -> str:
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^\w.\- ]", "_", name).strip(" .") or "attachment"
    return name[:200]


def _first_id(value: str) -> str:
    found = MESSAGE_ID.findall(value)
    return found[0][:255] if found else ""


def recipients(values: list[str]) -> list[str]:
    return [address for _, address in getaddresses(values)]


class Handler:
    """The aiosmtpd handler: one DATA → ``accept`` in a worker thread (the ORM is sync)."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from asgiref.sync import sync_to_async

        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        reply: str = await sync_to_async(accept_and_close, thread_sensitive=False)(
            content, envelope.mail_from or "", list(envelope.rcpt_tos)
        )
        return reply


def serve(
    host: str, port: int, stop: threading.Event, ready: Callable[[], None] | None = None
) -> None:
    """Run the SMTP server on ``host:port`` until ``stop`` is set."""
    from aiosmtpd.controller import Controller

    controller = Controller(
        Handler(),
        hostname=host,
        port=port,
        data_size_limit=conf.max_message_bytes(),
        ident="Rapport mail-in",
    )
    controller.start()
    try:
        if ready is not None:
            ready()
        stop.wait()
    finally:
        controller.stop()
