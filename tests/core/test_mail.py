"""describe_send_failure: every way an e-mail can fail reads as one clean sentence."""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.mail import send_mail

from rapport.core.mail import EmailNotConfiguredError, describe_send_failure
from tests.conftest import SmtpServer, _free_port


def assert_one_clean_line(text: str) -> None:
    assert "\n" not in text
    assert "b'" not in text
    assert 'b"' not in text
    assert "\\r" not in text
    assert "Error(" not in text  # no exception reprs
    assert text.endswith(".")
    assert not text.endswith("..")


# --- SMTP replies -------------------------------------------------------------


def test_a_refused_message_shows_the_code_and_the_servers_words() -> None:
    error = smtplib.SMTPDataError(550, b"5.1.1 mailbox unavailable")
    assert (
        describe_send_failure(error)
        == "The mail server refused the message (550 5.1.1 mailbox unavailable)."
    )


def test_a_generic_response_exception_reads_the_same() -> None:
    error = smtplib.SMTPResponseException(554, b"5.7.1 Message rejected as spam")
    assert (
        describe_send_failure(error)
        == "The mail server refused the message (554 5.7.1 Message rejected as spam)."
    )


def test_a_temporary_refusal_says_to_try_again_later() -> None:
    error = smtplib.SMTPDataError(451, b"4.3.0 Requested action aborted: try again later")
    text = describe_send_failure(error)
    assert text == (
        "The mail server did not accept the message for now "
        "(451 4.3.0 Requested action aborted: try again later); try again later."
    )


def test_multi_line_replies_and_trailing_dots_become_one_line() -> None:
    error = smtplib.SMTPDataError(
        550, b"5.7.1 Service unavailable;\n5.7.1 client host blocked using zen.example.\r\n"
    )
    text = describe_send_failure(error)
    assert text == (
        "The mail server refused the message "
        "(550 5.7.1 Service unavailable; 5.7.1 client host blocked using zen.example)."
    )
    assert_one_clean_line(text)


def test_undecodable_bytes_do_not_break_the_message() -> None:
    text = describe_send_failure(smtplib.SMTPDataError(550, b"5.6.0 bad \xff byte"))
    assert text == "The mail server refused the message (550 5.6.0 bad \ufffd byte)."


def test_a_very_long_reply_is_shortened() -> None:
    text = describe_send_failure(smtplib.SMTPDataError(550, b"x" * 5000))
    assert len(text) < 300
    assert "…" in text
    assert_one_clean_line(text)


def test_a_reply_without_a_code() -> None:
    text = describe_send_failure(smtplib.SMTPResponseException(-1, b""))
    assert text == "The mail server refused the message (no reply)."


def test_refused_recipient_names_the_address_and_the_reply() -> None:
    error = smtplib.SMTPRecipientsRefused(
        {"ghost@example.com": (550, b"5.1.1 <ghost@example.com>: Recipient address rejected")}
    )
    assert describe_send_failure(error) == (
        "The mail server refused the recipient ghost@example.com "
        "(550 5.1.1 <ghost@example.com>: Recipient address rejected)."
    )


def test_several_refused_recipients_are_grouped_by_reply() -> None:
    error = smtplib.SMTPRecipientsRefused(
        {
            "a@example.com": (550, b"5.1.1 mailbox unavailable"),
            "b@example.com": (550, b"5.1.1 mailbox unavailable"),
            "c@example.org": (553, b"5.7.1 relaying denied"),
        }
    )
    assert describe_send_failure(error) == (
        "The mail server refused the recipients a@example.com, b@example.com "
        "(550 5.1.1 mailbox unavailable); "
        "the recipient c@example.org (553 5.7.1 relaying denied)."
    )


def test_many_refused_recipients_are_counted_not_listed() -> None:
    refused = {f"user{n}@example.com": (550, b"no such user") for n in range(10)}
    text = describe_send_failure(smtplib.SMTPRecipientsRefused(refused))
    assert text == (
        "The mail server refused the recipients user0@example.com, user1@example.com, "
        "user2@example.com and 7 more (550 no such user)."
    )


def test_recipients_refused_for_now_says_to_try_again_later() -> None:
    error = smtplib.SMTPRecipientsRefused({"a@example.com": (450, b"4.2.0 greylisted")})
    assert describe_send_failure(error) == (
        "The mail server refused the recipient a@example.com (450 4.2.0 greylisted); "
        "try again later."
    )


def test_no_recipients_in_the_refusal() -> None:
    text = describe_send_failure(smtplib.SMTPRecipientsRefused({}))
    assert text == "The mail server refused every recipient."


def test_wrong_password_points_at_the_configuration() -> None:
    error = smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication credentials invalid")
    assert describe_send_failure(error) == (
        "The mail server did not accept the user name or password "
        "(535 5.7.8 Authentication credentials invalid); check EMAIL_URL."
    )


def test_refused_sender_points_at_the_sender_setting() -> None:
    error = smtplib.SMTPSenderRefused(553, b"5.7.1 Sender address rejected", "rapport@localhost")
    assert describe_send_failure(error) == (
        "The mail server refused the sender address rapport@localhost "
        "(553 5.7.1 Sender address rejected); check DEFAULT_FROM_EMAIL."
    )


def test_refused_connection_greeting() -> None:
    error = smtplib.SMTPConnectError(554, b"5.7.1 No SMTP service here")
    assert describe_send_failure(error) == (
        "The mail server refused the connection (554 5.7.1 No SMTP service here); check EMAIL_URL."
    )


def test_disconnected_and_unsupported() -> None:
    disconnected = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
    assert describe_send_failure(disconnected) == (
        "The mail server closed the connection unexpectedly; check EMAIL_URL."
    )
    unsupported = smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server.")
    assert describe_send_failure(unsupported) == (
        "The mail server does not support what Rapport asked for "
        "(STARTTLS extension not supported by server); check EMAIL_URL."
    )


def test_other_smtp_errors() -> None:
    text = describe_send_failure(smtplib.SMTPException("No suitable authentication method found."))
    assert text == (
        "Sending the e-mail failed (No suitable authentication method found); check EMAIL_URL."
    )


# --- connections --------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            ConnectionRefusedError(111, "Connection refused"),
            "Could not reach the mail server (Connection refused); check EMAIL_URL.",
        ),
        (
            OSError(101, "Network is unreachable"),
            "Could not reach the mail server (Network is unreachable); check EMAIL_URL.",
        ),
        (
            TimeoutError("timed out"),
            "The mail server did not answer in time; check EMAIL_URL.",
        ),
        (
            socket.gaierror(-2, "Name or service not known"),
            "The mail server's name could not be found (Name or service not known); "
            "check EMAIL_URL.",
        ),
        (
            ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1000)"),
            "No secure connection to the mail server (wrong version number); check EMAIL_URL.",
        ),
    ],
    ids=["refused", "unreachable", "timeout", "unknown-host", "ssl"],
)
def test_connection_errors(error: BaseException, expected: str) -> None:
    assert describe_send_failure(error) == expected


def test_certificate_errors_say_what_is_wrong_with_the_certificate() -> None:
    error = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] ...")
    error.verify_message = "self-signed certificate"
    assert describe_send_failure(error) == (
        "No secure connection to the mail server (self-signed certificate); check EMAIL_URL."
    )


def test_not_configured_is_passed_through() -> None:
    error = EmailNotConfiguredError()
    assert describe_send_failure(error) == str(error)


def test_anything_else_still_reads_as_a_sentence() -> None:
    assert describe_send_failure(ValueError("bad header")) == (
        "The e-mail could not be sent (bad header)."
    )
    assert describe_send_failure(RuntimeError()) == "The e-mail could not be sent (RuntimeError)."


# --- the real thing: Django's SMTP backend against real servers ----------------


def send() -> BaseException:
    with pytest.raises((smtplib.SMTPException, OSError)) as caught:
        send_mail("Hello", "Body", "rapport@example.com", ["ghost@example.com"])
    return caught.value


def use_server(settings: Any, **options: Any) -> None:
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"timeout": 5, **options},
        }
    }


def test_a_server_that_refuses_the_data(smtp_server: SmtpServer) -> None:
    smtp_server.refuse = True
    text = describe_send_failure(send())
    assert text == (
        "The mail server did not accept the message for now "
        "(451 Requested action aborted: try again later); try again later."
    )


@pytest.fixture
def refusing_recipients(settings: Any) -> Iterator[None]:
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_RCPT(
            self, server: Any, session: Any, envelope: Any, address: str, options: Any
        ) -> str:
            return f"550 5.1.1 <{address}>: mailbox unavailable"

    port = _free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    use_server(settings, host="127.0.0.1", port=port)
    try:
        yield
    finally:
        controller.stop()


def test_a_server_that_refuses_the_recipient(refusing_recipients: None) -> None:
    error = send()
    assert isinstance(error, smtplib.SMTPRecipientsRefused)
    assert describe_send_failure(error) == (
        "The mail server refused the recipient ghost@example.com "
        "(550 5.1.1 <ghost@example.com>: mailbox unavailable)."
    )


def test_nothing_listening(settings: Any) -> None:
    use_server(settings, host="127.0.0.1", port=_free_port())
    text = describe_send_failure(send())
    assert text == "Could not reach the mail server (Connection refused); check EMAIL_URL."


def test_ssl_to_a_plain_server(smtp_server: SmtpServer, settings: Any) -> None:
    use_server(settings, host=smtp_server.host, port=smtp_server.port, use_ssl=True)
    text = describe_send_failure(send())
    assert text.startswith("No secure connection to the mail server (")
    assert text.endswith("); check EMAIL_URL.")
    assert "_ssl.c" not in text
    assert "[SSL" not in text
    assert_one_clean_line(text)
