"""Outgoing webhooks: record events, signed, retried with back-off, logged; admins only."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.core.permissions import Role
from rapport.customers import services as customer_services
from rapport.marketing import webhooks
from rapport.marketing.choices import DeliveryStatus
from rapport.marketing.models import WebhookDelivery, WebhookEndpoint
from rapport.users.models import User
from tests.customers.factories import make_company, make_contact
from tests.marketing.conftest import Receiver
from tests.sales.factories import make_deal

pytestmark = pytest.mark.django_db

ROLES = list(Role.values)


def later(minutes: float = 1) -> datetime:
    """The job's clock: past the settling delay, so every saved change is collected."""
    return timezone.now() + timedelta(minutes=minutes)


def endpoint_for(admin: User, url: str, events: Any = ("contact.created",), **extra: Any) -> Any:
    return webhooks.create_endpoint(admin, url=url, events=list(events), **extra)


# --- events and signatures ----------------------------------------------------------------


def test_record_events_are_sent_signed(admin: User, receiver: Receiver) -> None:
    hook = endpoint_for(
        admin,
        receiver.url,
        ["contact.created", "contact.updated", "contact.deleted", "company.created"],
    )
    make_contact(admin, first_name="Before")  # before the endpoint: not sent
    contact = make_contact(admin, first_name="Signed")
    customer_services.update_contact(admin, contact, {"job_title": "Buyer"})
    make_deal(admin, name="Not listened to", contact=contact)
    WebhookEndpoint.objects.filter(pk=hook.pk).update(cursors=webhooks._latest_cursors())
    customer_services.update_contact(admin, contact, {"job_title": "Head buyer"})
    customer_services.trash_contact(admin, contact)
    make_company(admin, name="Acme")
    assert webhooks.run(now=later()) == 3
    assert receiver.events() == ["contact.updated", "contact.deleted", "company.created"]
    headers, body = receiver.calls[0]
    signed = headers["X-Rapport-Timestamp"].encode() + b"." + body
    expected = hmac.new(hook.secret.encode(), signed, hashlib.sha256).hexdigest()
    assert headers["X-Rapport-Signature"] == f"sha256={expected}"
    assert headers["X-Rapport-Event"] == "contact.updated"
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(body)
    assert payload["object"] == {"type": "contact", "id": contact.pk}
    assert payload["data"]["first_name"] == "Signed"
    assert payload["data"]["job_title"] == "Head buyer"
    assert payload["event_id"].startswith("contact:")
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 3
    delivered = WebhookDelivery.objects.get(pk=int(headers["X-Rapport-Delivery"]))
    assert (delivered.response_status, delivered.response_body) == (200, "thanks")


def test_a_wrong_secret_does_not_verify(admin: User, receiver: Receiver) -> None:
    endpoint_for(admin, receiver.url)
    make_contact(admin, first_name="Check")
    webhooks.run(now=later())
    headers, body = receiver.calls[0]
    signed = headers["X-Rapport-Timestamp"].encode() + b"." + body
    forged = hmac.new(b"guess", signed, hashlib.sha256).hexdigest()
    assert headers["X-Rapport-Signature"] != f"sha256={forged}"


def test_secrets_stay_out_of_the_audit_history(admin: User, receiver: Receiver) -> None:
    endpoint = endpoint_for(admin, receiver.url)
    first = endpoint.secret
    second = webhooks.rotate_secret(admin, endpoint)

    assert second != first
    assert endpoint.history.count() == 2  # created, rotated: both audited
    columns = [field.name for field in endpoint.history.model._meta.get_fields()]
    assert "secret" not in columns
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {endpoint.history.model._meta.db_table}")  # noqa: S608
        stored = repr(cursor.fetchall())
    assert first not in stored
    assert second not in stored


def test_job_run_twice_sends_once(admin: User, receiver: Receiver) -> None:
    endpoint_for(admin, receiver.url)
    make_contact(admin, first_name="Once")
    now = later()
    webhooks.run(now=now)
    webhooks.run(now=now)
    # A job that collects again from an old cursor (a crashed worker) queues nothing twice.
    WebhookEndpoint.objects.update(cursors={})
    webhooks.collect(now=now)
    WebhookEndpoint.objects.update(cursors={"contact": 0})
    webhooks.collect(now=now)
    webhooks.run(now=now)
    assert receiver.events() == ["contact.created"]
    assert WebhookDelivery.objects.count() == 1


def test_retried_with_backoff_then_delivered(admin: User, receiver: Receiver) -> None:
    endpoint_for(admin, receiver.url)
    make_contact(admin, first_name="Flaky")
    receiver.statuses = [500, 500]
    first = later()
    webhooks.run(now=first)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, 500)
    assert delivery.response_body == "broken"
    assert delivery.next_attempt_at == first + timedelta(minutes=1)
    assert webhooks.run(now=first + timedelta(seconds=30)) == 0  # not due yet
    second = first + timedelta(minutes=1)
    webhooks.run(now=second)
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert delivery.next_attempt_at == second + timedelta(minutes=2)  # twice as long
    third = second + timedelta(minutes=2)
    webhooks.run(now=third)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.delivered_at) == ("succeeded", 3, third)
    assert delivery.next_attempt_at is None
    assert len(receiver.calls) == 3
    assert len({body for _, body in receiver.calls}) == 1  # the same event every time


def test_marked_failed_after_the_last_attempt(
    admin: User, receiver: Receiver, settings: Any
) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    endpoint_for(admin, receiver.url)
    make_contact(admin, first_name="Doomed")
    receiver.statuses = [503] * 10
    now = later()
    for _ in range(5):
        webhooks.run(now=now)
        now += timedelta(hours=1)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 3)
    assert delivery.next_attempt_at is None
    assert "503" in delivery.error
    assert len(receiver.calls) == 3


def test_a_failing_endpoint_does_not_block_another(admin: User, receiver: Receiver) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    endpoint_for(admin, dead, description="dead")
    endpoint_for(admin, receiver.url, description="alive")
    make_contact(admin, first_name="Both")
    webhooks.run(now=later())
    assert receiver.events() == ["contact.created"]
    states = dict(WebhookDelivery.objects.values_list("endpoint__description", "status"))
    assert states == {"dead": "pending", "alive": "succeeded"}
    assert WebhookDelivery.objects.get(endpoint__description="dead").error


def test_disabled_endpoint_sends_nothing(admin: User, receiver: Receiver) -> None:
    hook = endpoint_for(admin, receiver.url)
    webhooks.update_endpoint(admin, hook, {"enabled": False})
    make_contact(admin, first_name="Quiet")
    webhooks.run(now=later())
    assert receiver.calls == []
    assert not WebhookDelivery.objects.exists()
    # Switched back on: what happened meanwhile stays untold; new events are sent.
    webhooks.update_endpoint(admin, hook, {"enabled": True})
    make_contact(admin, first_name="Heard")
    webhooks.run(now=later())
    assert len(receiver.calls) == 1
    assert json.loads(receiver.calls[0][1])["data"]["first_name"] == "Heard"


def test_trashed_endpoint_gets_nothing_more(admin: User, receiver: Receiver) -> None:
    hook = endpoint_for(admin, receiver.url)
    make_contact(admin, first_name="Pending")
    webhooks.collect(now=later())
    webhooks.trash_endpoint(admin, hook)
    webhooks.run(now=later())
    assert receiver.calls == []


def test_resend_and_test_ping_are_logged(
    admin: User, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    hook = endpoint_for(admin, receiver.url)
    make_contact(admin, first_name="Again")
    webhooks.run(now=later())
    original = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        again = webhooks.resend(admin, original)
    assert again.pk != original.pk
    assert WebhookDelivery.objects.get(pk=again.pk).status == DeliveryStatus.SUCCEEDED
    assert receiver.calls[0][1] == receiver.calls[1][1]  # the same body
    ping = webhooks.send_test(admin, hook)
    assert (ping.event, ping.status, ping.response_status) == ("ping", "succeeded", 200)
    assert receiver.events() == ["contact.created", "contact.created", "ping"]


def test_bad_endpoints_are_refused(admin: User, settings: Any) -> None:
    settings.AUTOMATION_WEBHOOK_ALLOW_HTTP = False
    for url, events, message in [
        ("http://hooks.example.com/x", ["contact.created"], "https://"),
        ("https://127.0.0.1/x", ["contact.created"], "public addresses"),
        ("https://10.1.2.3/x", ["contact.created"], "public addresses"),
        ("https://localhost/x", ["contact.created"], "public addresses"),
        ("https://hooks.example.com/x", [], "at least one event"),
        ("https://hooks.example.com/x", ["contact.exploded"], "Unknown event"),
    ]:
        with pytest.raises(ValidationError, match=message):
            endpoint_for(admin, url, events)
    assert not WebhookEndpoint.objects.exists()
    hook = endpoint_for(admin, "https://hooks.example.com/x")
    assert len(hook.secret) == 64


def test_a_name_resolving_to_a_private_address_is_refused_at_send_time(
    admin: User, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = endpoint_for(admin, "https://hooks.example.com/x")
    import socket

    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda *args, **kwargs: [(2, 1, 6, "", ("192.168.1.10", 443))],
    )
    ping = webhooks.send_test(admin, hook)
    assert ping.status == DeliveryStatus.PENDING
    assert "public addresses" in ping.error


def test_only_admins_write_endpoints(marketing: User, manager: User) -> None:
    from django.core.exceptions import PermissionDenied

    for user in (marketing, manager):
        with pytest.raises(PermissionDenied):
            webhooks.create_endpoint(
                user, url="https://hooks.example.com/x", events=["contact.created"]
            )


# --- pages and API per role ----------------------------------------------------------


@pytest.fixture
def logged(admin: User, receiver: Receiver) -> tuple[WebhookEndpoint, WebhookDelivery]:
    hook = endpoint_for(admin, receiver.url)
    make_contact(admin, first_name="Logged")
    webhooks.run(now=later())
    return hook, WebhookDelivery.objects.get()


def expect(allowed: bool) -> int:
    return 200 if allowed else 403


@pytest.mark.parametrize("role", ROLES)
def test_pages_per_role(role: str, user_of_role: Any, client_for: Any, logged: Any) -> None:
    hook, delivery = logged
    web: Client = client_for(user_of_role(role))
    admin = role == Role.ADMIN
    pages = {
        "/automation/webhooks/": expect(admin),
        "/automation/webhooks/new/": expect(admin),
        f"/automation/webhooks/{hook.pk}/": expect(admin),
        f"/automation/webhooks/{hook.pk}/edit/": expect(admin),
    }
    assert {url: web.get(url).status_code for url in pages} == pages
    before = WebhookDelivery.objects.count()
    web.post(f"/automation/webhooks/deliveries/{delivery.pk}/resend/")
    web.post(f"/automation/webhooks/{hook.pk}/test/")
    assert WebhookDelivery.objects.count() == before + (2 if admin else 0)
    web.post(f"/automation/webhooks/{hook.pk}/trash/")
    hook.refresh_from_db()
    assert (hook.deleted_at is not None) is admin
    listing = web.get("/automation/")
    if listing.status_code == 200:
        assert ("/automation/webhooks/" in listing.content.decode()) is admin


@pytest.mark.parametrize("role", ROLES)
def test_api_per_role(role: str, user_of_role: Any, api_for: Any, logged: Any) -> None:
    hook, delivery = logged
    api = api_for(user_of_role(role))
    admin = role == Role.ADMIN
    assert api.get("/api/v1/webhooks").status_code == expect(admin)
    assert api.get(f"/api/v1/webhooks/{hook.pk}").status_code == expect(admin)
    assert api.get(f"/api/v1/webhooks/{hook.pk}/deliveries").status_code == expect(admin)
    made = api.post(
        "/api/v1/webhooks",
        {"url": "https://hooks.example.com/new", "events": ["deal.updated"]},
        format="json",
    )
    assert made.status_code == (201 if admin else 403)
    resent = api.post(f"/api/v1/webhooks/{hook.pk}/deliveries/{delivery.pk}/resend")
    assert resent.status_code == (202 if admin else 403)
    tested = api.post(f"/api/v1/webhooks/{hook.pk}/test")
    assert tested.status_code == expect(admin)
    gone = api.delete(f"/api/v1/webhooks/{hook.pk}")
    assert gone.status_code == (204 if admin else 403)


def test_admin_creates_an_endpoint_and_sees_the_secret_once(admin: User, client_for: Any) -> None:
    web = client_for(admin)
    answer = web.post(
        "/automation/webhooks/new/",
        {
            "url": "https://hooks.example.com/crm",
            "description": "ERP",
            "enabled": "on",
            "events": ["contact.created", "order.updated"],
        },
    )
    hook = WebhookEndpoint.objects.get()
    assert answer.status_code == 302
    assert hook.events == ["contact.created", "order.updated"]
    first = web.get(f"/automation/webhooks/{hook.pk}/").content.decode()
    assert hook.secret in first
    assert hook.secret not in web.get(f"/automation/webhooks/{hook.pk}/").content.decode()
    refused = web.post(
        "/automation/webhooks/new/", {"url": "ftp://x", "events": ["contact.created"]}
    )
    assert refused.status_code == 200
    assert WebhookEndpoint.objects.count() == 1


def test_api_creates_edits_and_lists_deliveries(admin: User, api_for: Any, logged: Any) -> None:
    hook, delivery = logged
    api = api_for(admin)
    made = api.post(
        "/api/v1/webhooks",
        {"url": "https://hooks.example.com/new", "events": ["deal.updated"]},
        format="json",
    )
    assert len(made.json()["secret"]) == 64
    assert "secret" not in api.get(f"/api/v1/webhooks/{made.json()['id']}").json()
    bad = api.post(
        "/api/v1/webhooks", {"url": "https://hooks.example.com/x", "events": ["x.y"]}, format="json"
    )
    assert bad.status_code == 400
    read = api.get(f"/api/v1/webhooks/{hook.pk}")
    stale = api.patch(
        f"/api/v1/webhooks/{hook.pk}",
        {"description": "Stale"},
        format="json",
        HTTP_IF_MATCH='"0"',
    )
    assert stale.status_code == 412
    changed = api.patch(
        f"/api/v1/webhooks/{hook.pk}",
        {"description": "ERP"},
        format="json",
        HTTP_IF_MATCH=read["ETag"],
    )
    assert changed.json()["description"] == "ERP"
    log = api.get(f"/api/v1/webhooks/{hook.pk}/deliveries?status=succeeded").json()
    rows = log["results"]
    assert [row["id"] for row in rows] == [delivery.pk]
    assert rows[0]["payload"]["event"] == "contact.created"
    assert rows[0]["attempts"] == 1


def test_delivery_log_queries_do_not_grow(
    admin: User, client_for: Any, api_for: Any, receiver: Receiver
) -> None:
    hook = endpoint_for(admin, receiver.url)
    web = client_for(admin)
    api = api_for(admin)

    def counts() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as page:
            assert web.get(f"/automation/webhooks/{hook.pk}/").status_code == 200
        with CaptureQueriesContext(connection) as listing:
            assert api.get(f"/api/v1/webhooks/{hook.pk}/deliveries").status_code == 200
        return len(page), len(listing)

    counts()  # the token's first use is stamped once: not part of the list

    make_contact(admin, first_name="One")
    webhooks.run(now=later())
    few = counts()
    for number in range(8):
        make_contact(admin, first_name=f"Many{number}")
    webhooks.run(now=later())
    assert WebhookDelivery.objects.count() == 9
    assert counts() == few
