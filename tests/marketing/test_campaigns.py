"""Campaigns through a real SMTP server: consent, headers, exactly once, rate limit, responses."""

from __future__ import annotations

import re
import smtplib
from datetime import timedelta
from decimal import Decimal
from email.message import Message as MailMessage
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail.backends.smtp import EmailBackend
from django.test import Client
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from rapport.customers.models import Contact
from rapport.customers.services import may_contact
from rapport.insights.models import ModelRun, NextBestOffer
from rapport.interactions.models import Interaction
from rapport.marketing import queries, services
from rapport.marketing.choices import CampaignStatus, MessageState, UnsubscribeSource
from rapport.marketing.models import Campaign, Message, Unsubscribe
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.conftest import SmtpServer
from tests.customers.factories import make_contact
from tests.marketing.factories import consent, make_campaign, make_segment, rule
from tests.trading.factories import make_order

pytestmark = pytest.mark.django_db


def audience(admin: User, count: int = 3, *, without_consent: int = 1) -> list[Contact]:
    """``count`` customers who agreed to marketing e-mail and some who did not."""
    agreed = []
    for n in range(count):
        contact = make_contact(
            admin,
            first_name=f"Agreed{n}",
            emails=[f"agreed{n}@example.org"],
            lifecycle_stage="customer",
        )
        consent(contact)
        agreed.append(contact)
    for n in range(without_consent):
        make_contact(
            admin,
            first_name=f"Silent{n}",
            emails=[f"silent{n}@example.org"],
            lifecycle_stage="customer",
        )
    withdrawn = make_contact(
        admin, first_name="Gone", emails=["gone@example.org"], lifecycle_stage="customer"
    )
    consent(withdrawn, granted=False)
    service_only = make_contact(
        admin, first_name="Service", emails=["svc@example.org"], lifecycle_stage="customer"
    )
    consent(service_only, purpose="service")
    return agreed


def customers_campaign(admin: User, **extra: Any) -> Campaign:
    segment = make_segment(admin, rule("stage", op="is", value="customer"))
    return make_campaign(admin, segment, **extra)


def send(actor: User, campaign: Campaign, capture: Any) -> Campaign:
    with capture(execute=True):
        services.send_now(actor, campaign)
    campaign.refresh_from_db()
    return campaign


def recipients_of(smtp: SmtpServer) -> list[str]:
    return sorted(str(message["To"]) for message in smtp.messages)


def html_of(message: MailMessage) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError("no HTML part")


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def test_only_contacts_with_marketing_email_consent_receive_it(
    admin: User, marketing: User, smtp_server: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    agreed = audience(admin)
    campaign = send(marketing, customers_campaign(marketing), django_capture_on_commit_callbacks)

    assert recipients_of(smtp_server) == [c.email for c in agreed]
    assert campaign.status == CampaignStatus.SENT
    first = next(m for m in smtp_server.messages if m["To"] == "agreed0@example.org")
    assert first["Subject"] == "Hello Agreed0"
    assert "Dear Agreed0," in smtp_server.bodies()[0] or "Dear Agreed0," in "".join(
        smtp_server.bodies()
    )
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(r"<https?://[^>]+/m/u/[^>]+/>", first["List-Unsubscribe"])
    assert "Unsubscribe:" in "".join(smtp_server.bodies())
    states = set(Message.objects.filter(campaign=campaign).values_list("state", flat=True))
    assert states == {MessageState.SENT}
    timeline = Interaction.objects.filter(kind="campaign", contact=agreed[0])
    assert [row.subject for row in timeline] == ["Hello Agreed0"]


def test_one_click_unsubscribe_withdraws_consent_without_login_or_csrf(
    admin: User, marketing: User, smtp_server: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    agreed = audience(admin, count=1)
    campaign = send(marketing, customers_campaign(marketing), django_capture_on_commit_callbacks)
    header = smtp_server.messages[0]["List-Unsubscribe"].strip("<>")
    mail_program = Client(enforce_csrf_checks=True)

    response = mail_program.post(
        path_of(header),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert not may_contact(agreed[0], channel="email", purpose="marketing")
    assert Unsubscribe.objects.get().source == UnsubscribeSource.ONE_CLICK
    assert Interaction.objects.filter(
        contact=agreed[0], subject__startswith="Unsubscribed from marketing e-mail"
    ).exists()
    assert queries.report(campaign)["unsubscribed"] == 1
    # Pressing again changes nothing more.
    mail_program.post(
        path_of(header),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert Unsubscribe.objects.count() == 1


def test_footer_link_asks_then_unsubscribes(
    admin: User, marketing: User, smtp_server: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    agreed = audience(admin, count=1)
    send(marketing, customers_campaign(marketing), django_capture_on_commit_callbacks)
    link = re.search(r"Unsubscribe: (\S+)", smtp_server.bodies()[0])
    assert link is not None
    visitor = Client(enforce_csrf_checks=True)
    page = visitor.get(path_of(link.group(1)))
    assert b"Stop marketing e-mail to agreed0@example.org?" in page.content
    assert may_contact(agreed[0], channel="email", purpose="marketing")  # a GET changes nothing
    done = visitor.post(path_of(link.group(1)))
    assert b"You are unsubscribed" in done.content
    assert not may_contact(agreed[0], channel="email", purpose="marketing")
    assert Unsubscribe.objects.get().source == UnsubscribeSource.FOOTER


def test_forged_tokens_are_refused(client: Client) -> None:
    assert client.post("/m/u/not-a-token/").status_code == 404
    assert client.get("/m/c/not-a-token/").status_code == 404


def test_clicks_go_through_signed_links_only(
    admin: User, marketing: User, smtp_server: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    agreed = audience(admin, count=1)
    campaign = send(marketing, customers_campaign(marketing), django_capture_on_commit_callbacks)
    html = html_of(smtp_server.messages[0])
    assert "https://shop.example/x" not in html  # routed through the tracker
    tracked = re.search(r'href="(https?://[^"]+/m/c/[^"]+)"', html)
    assert tracked is not None

    response = Client().get(path_of(tracked.group(1).replace("&amp;", "&")))

    assert response.status_code == 302
    assert response["Location"] == "https://shop.example/x?a=1&b=2"
    message = Message.objects.get(campaign=campaign)
    assert message.clicked_at is not None
    assert message.opened_at is not None
    assert Interaction.objects.filter(contact=agreed[0], subject__startswith="Clicked").count() == 1
    # Changing the target inside the token breaks the signature: no open redirect.
    token = tracked.group(1).rstrip("/").rsplit("/", 1)[1]
    assert Client().get(f"/m/c/{token[:-3]}abc/").status_code == 404


def test_open_pixel_when_enabled(
    admin: User, marketing: User, smtp_server: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    audience(admin, count=1)
    campaign = send(
        marketing,
        customers_campaign(marketing, track_opens=True),
        django_capture_on_commit_callbacks,
    )
    pixel = re.search(r'<img src="(https?://[^"]+/m/o/[^"]+)"', html_of(smtp_server.messages[0]))
    assert pixel is not None
    response = Client().get(path_of(pixel.group(1)))
    assert response["Content-Type"] == "image/gif"
    assert queries.report(campaign)["opened"] == 1


def test_exactly_once_per_recipient_when_the_worker_is_killed(
    admin: User, marketing: User, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    agreed = audience(admin, count=4)
    campaign = customers_campaign(marketing)
    services.send_now(marketing, campaign)  # the job is not run: we run it by hand
    real_send = EmailBackend.send_messages
    handed_over = []

    def killed_after_second(self: EmailBackend, messages: Any) -> int:
        sent = real_send(self, messages)
        handed_over.append(messages[0].to[0])
        if len(handed_over) == 2:
            raise SystemExit("worker killed")  # after the server took it, before it was recorded
        return sent

    monkeypatch.setattr(EmailBackend, "send_messages", killed_after_second)
    with pytest.raises(SystemExit):
        services.send_batch(campaign.pk)
    monkeypatch.setattr(EmailBackend, "send_messages", real_send)

    # The job restarts (and restarts again): nobody gets a second copy.
    services.send_batch(campaign.pk)
    services.send_batch(campaign.pk)
    later = timezone.now() + timedelta(hours=1)
    services.send_batch(campaign.pk, now=later)

    assert recipients_of(smtp_server) == sorted(c.email for c in agreed)
    in_doubt = Message.objects.get(email=handed_over[1])
    assert in_doubt.state == MessageState.FAILED
    assert "not retried" in in_doubt.error
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT


def test_rate_limit_spreads_batches(
    admin: User,
    marketing: User,
    smtp_server: SmtpServer,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.MARKETING_RATE_PER_MINUTE = 2
    agreed = audience(admin, count=5)
    before = len(HUEY.scheduled())
    campaign = send(marketing, customers_campaign(marketing), django_capture_on_commit_callbacks)

    assert len(smtp_server.messages) == 2
    scheduled = HUEY.scheduled()[before:]
    assert [task.name for task in scheduled] == ["send_batch"]
    assert scheduled[0].eta - timezone.now().replace(tzinfo=None) >= timedelta(seconds=50)
    assert campaign.status == CampaignStatus.SENDING

    # What the scheduled jobs do, one after the other: two per run.
    services.send_batch(campaign.pk)
    assert len(smtp_server.messages) == 4
    services.send_batch(campaign.pk)
    assert recipients_of(smtp_server) == sorted(c.email for c in agreed)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT


def test_temporary_refusal_is_retried_then_given_up(
    admin: User, marketing: User, smtp_server: SmtpServer, settings: Any
) -> None:
    settings.MARKETING_MAX_ATTEMPTS = 2
    audience(admin, count=1)
    campaign = customers_campaign(marketing)
    services.send_now(marketing, campaign)
    smtp_server.refuse = True
    services.send_batch(campaign.pk)
    message = Message.objects.get()
    assert (message.state, message.attempts) == (MessageState.QUEUED, 1)
    assert "try again later" in message.error
    services.send_batch(campaign.pk)  # not due yet: nothing happens
    assert Message.objects.get().attempts == 1
    later = timezone.now() + timedelta(hours=1)
    smtp_server.refuse = False
    services.send_batch(campaign.pk, now=later)
    message.refresh_from_db()
    assert message.state == MessageState.SENT
    assert len(smtp_server.messages) == 1


def test_permanent_refusal_is_a_bounce(
    admin: User, marketing: User, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    audience(admin, count=1)
    campaign = customers_campaign(marketing)
    services.send_now(marketing, campaign)

    def refused(self: EmailBackend, messages: Any) -> int:
        raise smtplib.SMTPRecipientsRefused({"agreed0@example.org": (550, b"5.1.1 no such user")})

    monkeypatch.setattr(EmailBackend, "send_messages", refused)
    services.send_batch(campaign.pk)
    message = Message.objects.get()
    assert message.state == MessageState.BOUNCED
    assert "550 5.1.1 no such user" in message.error
    report = queries.report(campaign)
    assert (report["sent"], report["delivered"], report["bounced"]) == (1, 0, 1)


def test_consent_withdrawn_after_queuing_is_respected(
    admin: User, marketing: User, smtp_server: SmtpServer
) -> None:
    agreed = audience(admin, count=2)
    campaign = customers_campaign(marketing)
    services.send_now(marketing, campaign)
    consent(agreed[1], granted=False)
    services.send_batch(campaign.pk)
    assert recipients_of(smtp_server) == [agreed[0].email]
    assert Message.objects.get(contact=agreed[1]).state == MessageState.FAILED


def test_a_campaign_goes_out_once(
    admin: User, marketing: User, smtp_server: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    audience(admin, count=2)
    campaign = send(marketing, customers_campaign(marketing), django_capture_on_commit_callbacks)
    with pytest.raises(ValidationError, match="went out already"):
        services.send_now(marketing, campaign)
    with pytest.raises(ValidationError, match="cannot be edited"):
        services.update_campaign(marketing, campaign, {"subject": "Again"})
    services.send_batch(campaign.pk)
    assert len(smtp_server.messages) == 2


def test_scheduled_campaign_starts_when_due(
    admin: User, marketing: User, smtp_server: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    audience(admin, count=1)
    campaign = customers_campaign(marketing)
    with pytest.raises(ValidationError, match="in the future"):
        services.schedule_campaign(marketing, campaign, timezone.now() - timedelta(minutes=1))
    at = timezone.now() + timedelta(hours=2)
    services.schedule_campaign(marketing, campaign, at)
    assert services.start_due_campaigns() == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert services.start_due_campaigns(now=at + timedelta(minutes=1)) == 1
    assert len(smtp_server.messages) == 1
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT


def test_cancel_stops_what_is_not_sent(
    admin: User, marketing: User, smtp_server: SmtpServer
) -> None:
    audience(admin, count=3)
    campaign = customers_campaign(marketing)
    services.send_now(marketing, campaign)
    services.cancel_campaign(marketing, campaign)
    services.send_batch(campaign.pk)
    assert smtp_server.messages == []
    assert set(Message.objects.values_list("state", flat=True)) == {MessageState.FAILED}


def test_preview_per_recipient_with_next_best_offers(admin: User, marketing: User) -> None:
    agreed = audience(admin, count=2)
    old = make_product(admin, name="Boiler 24")
    boiler = make_product(admin, name="Condensing Boiler 30")
    run = ModelRun.objects.create(started_at=timezone.now())
    NextBestOffer.objects.create(
        contact=agreed[0], product=boiler, rank=1, score=0.9, reason="upgrade", because=old, run=run
    )
    campaign = customers_campaign(
        marketing,
        text_body="Hi {{ contact.first_name }}!{% for offer in offers %} {{ offer.explanation }}"
        "{% empty %} Nothing new.{% endfor %}",
        html_body="<p>{{ contact.first_name }} <b>{{ offers.0.name }}</b></p>",
    )
    first = services.preview(campaign, agreed[0])
    second = services.preview(campaign, agreed[1])
    assert first.text == "Hi Agreed0! Their Boiler 24 has a newer model: Condensing Boiler 30."
    assert second.text == "Hi Agreed1! Nothing new."
    assert "<b>Condensing Boiler 30</b>" in first.html


@pytest.mark.parametrize(
    ("field", "source", "message"),
    [
        ("text_body", "{% load static %}", "not allowed"),
        ("html_body", "{% include 'web/base.html' %}", "not allowed"),
        ("subject", "{% if contact.first_name %}Hi", "does not work"),
        ("text_body", "  ", "text version"),
    ],
)
def test_templates_are_sandboxed(
    admin: User, marketing: User, field: str, source: str, message: str
) -> None:
    segment = make_segment(marketing)
    with pytest.raises(ValidationError) as raised:
        make_campaign(marketing, segment, **{field: source})
    assert message in " ".join(raised.value.message_dict[field])
    assert not Campaign.objects.exists()


def test_templates_see_plain_personal_fields_only(admin: User, marketing: User) -> None:
    contact = make_contact(admin, first_name="Ada", emails=["ada@example.org"])
    campaign = customers_campaign(
        marketing, text_body="[{{ contact.owner }}][{{ contact.pk }}][{{ contact.email }}]"
    )
    assert services.preview(campaign, contact).text == "[][][ada@example.org]"


def test_test_send_goes_to_the_colleague_only(
    admin: User, marketing: User, smtp_server: SmtpServer, sales: User
) -> None:
    agreed = audience(admin, count=1)
    campaign = customers_campaign(marketing)
    services.send_test(marketing, campaign, to="Mia@Example.com", contact=agreed[0])
    assert recipients_of(smtp_server) == ["mia@example.com"]
    assert smtp_server.messages[0]["Subject"] == "[Test] Hello Agreed0"
    assert not Message.objects.exists()
    with pytest.raises(PermissionDenied):
        services.send_test(sales, campaign, to="x@example.com", contact=agreed[0])


def test_report_attributes_orders_within_the_window(
    admin: User, marketing: User, smtp_server: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    agreed = audience(admin, count=2)
    stranger = make_contact(admin, first_name="Stranger")
    product = make_product(admin, unit_price="100.00")
    campaign = send(
        marketing,
        customers_campaign(marketing, attribution_days=7),
        django_capture_on_commit_callbacks,
    )
    today = timezone.localdate()
    make_order(admin, contact=agreed[0], lines=[(product, 2)], order_date=today)
    make_order(admin, contact=agreed[1], lines=[(product, 1)], order_date=today - timedelta(days=3))
    make_order(admin, contact=stranger, lines=[(product, 1)], order_date=today)
    report = queries.report(campaign)
    assert (report["orders"], report["revenue"]) == (1, Decimal("200.00"))
    assert (report["sent"], report["delivered"], report["opened"], report["clicked"]) == (
        2,
        2,
        0,
        0,
    )
