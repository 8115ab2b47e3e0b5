"""Inbound e-mail through a real SMTP conversation with the mail-in server."""

from __future__ import annotations

import io
import smtplib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from django.core.management import call_command

from rapport.core.permissions import Role
from rapport.interactions.choices import InteractionKind
from rapport.interactions.models import Interaction
from rapport.service import services
from rapport.service.choices import InboundState, MessageKind, TicketChannel, TicketStatus
from rapport.service.models import Attachment, InboundMail, Ticket, TicketMessage
from tests.conftest import _free_port
from tests.customers.factories import make_contact
from tests.factories import user_with_role
from tests.service.factories import make_ticket

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class MailIn:
    host: str
    port: int

    def send(
        self, message: EmailMessage | bytes, sender: str = "customer@example.org"
    ) -> tuple[int, str]:
        """MAIL, RCPT, DATA; the server's answer to DATA."""
        raw = message if isinstance(message, bytes) else wire(message)
        with smtplib.SMTP(self.host, self.port, timeout=10) as client:
            client.ehlo()
            client.mail(sender)
            client.rcpt("support@rapport.example")
            code, reply = client.data(raw)
        return code, reply.decode()


def wire(message: EmailMessage) -> bytes:
    """As SMTP carries it: CRLF line ends (smtplib does not convert bytes)."""
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


@pytest.fixture
def mail_in(settings: Any) -> Iterator[MailIn]:
    from aiosmtpd.controller import Controller

    from rapport.service.mailin import Handler

    settings.SERVICE_MAIL_MAX_BYTES = 200_000
    settings.SERVICE_ATTACHMENT_MAX_BYTES = 50_000
    server = MailIn("127.0.0.1", _free_port())
    controller = Controller(
        Handler(), hostname=server.host, port=server.port, data_size_limit=200_000
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def email(
    subject: str,
    body: str = "Hello, my boiler is broken.",
    sender: str = "customer@example.org",
    **headers: str,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"A Customer <{sender}>"
    message["To"] = "support@rapport.example"
    message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def test_an_unknown_thread_opens_a_ticket_for_the_matched_contact(mail_in: MailIn) -> None:
    contact = make_contact(emails=["known@example.org"])
    code, reply = mail_in.send(
        email("Broken boiler", sender="known@example.org", Message_ID="<a1@x>")
    )
    ticket = Ticket.objects.get()
    assert (code, reply) == (250, f"2.0.0 Filed on {ticket.reference}")
    assert ticket.contact == contact
    assert ticket.channel == TicketChannel.EMAIL
    assert ticket.subject == "Broken boiler"
    assert ticket.status == TicketStatus.NEW
    [message] = ticket.messages.all()
    assert (message.kind, message.message_id) == (MessageKind.INBOUND, "<a1@x>")
    assert InboundMail.objects.get().state == InboundState.THREADED
    assert Interaction.objects.filter(contact=contact, kind=InteractionKind.SUPPORT).exists()


def test_a_stranger_gets_a_ticket_answered_at_their_address(mail_in: MailIn) -> None:
    mail_in.send(email("Question", sender="stranger@example.net"))
    ticket = Ticket.objects.get()
    assert ticket.contact is None
    assert ticket.requester_email == "stranger@example.net"
    assert services.recipient_of(ticket) == "stranger@example.net"


def test_the_reference_in_the_subject_threads_and_reopens(mail_in: MailIn) -> None:
    contact = make_contact(emails=["known@example.org"])
    ticket = make_ticket(contact=contact)
    services.change_status(None, ticket, TicketStatus.PENDING_CUSTOMER)
    code, _ = mail_in.send(
        email(f"Re: [#{ticket.reference}] Boiler", "Here is the photo", sender="known@example.org")
    )
    assert code == 250
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert ticket.messages.filter(kind=MessageKind.INBOUND, body="Here is the photo").exists()
    assert Ticket.objects.count() == 1


def test_in_reply_to_our_reply_threads_whatever_the_subject(mail_in: MailIn) -> None:
    ticket = make_ticket(requester_email="someone@example.net", channel=TicketChannel.EMAIL)
    ours = services.reply(None, ticket, "Try turning it off and on.")
    mail_in.send(
        email(
            "totally new words",
            "It worked",
            sender="other@example.net",
            In_Reply_To=ours.message_id,
        )
    )
    assert Ticket.objects.count() == 1
    assert ticket.messages.filter(body="It worked", in_reply_to=ours.message_id).exists()


def test_a_guessed_reference_from_a_stranger_opens_a_new_ticket(mail_in: MailIn) -> None:
    ticket = make_ticket(contact=make_contact(emails=["owner@example.org"]))
    mail_in.send(email(f"[#{ticket.reference}] let me in", sender="intruder@example.net"))
    assert Ticket.objects.count() == 2
    assert not ticket.messages.filter(from_address="intruder@example.net").exists()


def test_a_mail_on_a_closed_ticket_opens_a_new_one(mail_in: MailIn) -> None:
    ticket = make_ticket(requester_email="c@example.org", channel=TicketChannel.EMAIL)
    services.change_status(None, ticket, TicketStatus.CLOSED)
    mail_in.send(email(f"Re: [#{ticket.reference}] again", sender="c@example.org"))
    assert Ticket.objects.count() == 2


def test_the_same_message_delivered_twice_is_filed_once(mail_in: MailIn) -> None:
    message = email("Twice", Message_ID="<dup@x>")
    mail_in.send(message)
    assert mail_in.send(message)[0] == 250
    assert TicketMessage.objects.filter(message_id="<dup@x>").count() == 1
    assert Ticket.objects.count() == 1
    # Both copies are kept and point at the one filed message.
    assert set(InboundMail.objects.values_list("state", flat=True)) == {InboundState.THREADED}
    assert InboundMail.objects.filter(message__message_id="<dup@x>").count() == 2


def test_attachments_are_stored(mail_in: MailIn, settings: Any) -> None:
    message = email("With a photo")
    message.add_attachment(
        b"\x89PNG-bytes", maintype="image", subtype="png", filename="../../photo.png"
    )
    mail_in.send(message)
    attachment = Attachment.objects.get()
    assert attachment.filename == "photo.png"
    assert attachment.size == 10
    assert attachment.file.path.startswith(str(settings.MEDIA_ROOT))
    assert attachment.file.read() == b"\x89PNG-bytes"


def test_an_oversized_attachment_is_refused_and_kept_for_staff(mail_in: MailIn) -> None:
    message = email("Huge")
    message.add_attachment(
        b"x" * 60_000, maintype="application", subtype="octet-stream", filename="big.bin"
    )
    code, reply = mail_in.send(message)
    assert code == 552
    assert "big.bin" in reply
    assert Ticket.objects.count() == 0
    kept = InboundMail.objects.get()
    assert kept.state == InboundState.FAILED
    assert "too large" in kept.error
    assert kept.raw.read() == wire(message)


def test_an_oversized_message_is_refused_by_the_server(mail_in: MailIn) -> None:
    code, _ = mail_in.send(email("Novel", "a long line of words\n" * 12_000))
    assert code == 552
    assert Ticket.objects.count() == 0


def test_malformed_mime_is_refused_and_kept_raw(mail_in: MailIn) -> None:
    raw = (
        b"From: a@example.org\r\nTo: support@rapport.example\r\nSubject: broken\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n"
        b"no boundary anywhere\r\n"
    )
    code, reply = mail_in.send(raw)
    assert code == 550
    assert "Malformed" in reply
    assert Ticket.objects.count() == 0
    kept = InboundMail.objects.get()
    assert kept.state == InboundState.FAILED
    assert kept.raw.read().replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")


def test_a_message_without_a_sender_is_refused(mail_in: MailIn) -> None:
    raw = b"Subject: hi\r\n\r\nbody\r\n"
    code, _ = mail_in.send(raw)
    assert code == 550
    assert InboundMail.objects.get().state == InboundState.FAILED


def test_the_rapport_mail_in_command_serves_smtp(settings: Any) -> None:
    from rapport.service.management.commands.mail_in import Command

    port = _free_port()
    command, out = Command(), io.StringIO()
    thread = threading.Thread(
        target=call_command,
        args=(command,),
        kwargs={"host": "127.0.0.1", "port": port, "stdout": out},
    )
    thread.start()
    try:
        _wait_for_port(port)
        code, reply = MailIn("127.0.0.1", port).send(
            email("Via the command", sender="cmd@example.net")
        )
    finally:
        command.stop.set()
        thread.join()
    ticket = Ticket.objects.get()
    assert (code, reply) == (250, f"2.0.0 Filed on {ticket.reference}")
    assert ticket.subject == "Via the command"
    assert f"Receiving e-mail on 127.0.0.1:{port}" in out.getvalue()


def test_rapport_mail_in_is_the_documented_name() -> None:
    with pytest.raises(SystemExit):
        call_command("mail-in", "--help")


def _wait_for_port(port: int) -> None:
    """Until the server listens (it starts in its own thread)."""
    for _ in range(500):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        threading.Event().wait(0.01)
    raise AssertionError(f"nothing listens on port {port}")


def test_staff_reply_goes_to_the_thread_sender(mail_in: MailIn) -> None:
    agent = user_with_role(Role.SERVICE, email="agent@example.com")
    mail_in.send(email("Help", sender="new@example.net", Message_ID="<first@x>"))
    ticket = Ticket.objects.get()
    ours = services.reply(agent, ticket, "Hello")
    assert ours.to_address == "new@example.net"
    assert ours.in_reply_to == "<first@x>"
