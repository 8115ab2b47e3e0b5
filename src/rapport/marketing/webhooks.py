"""Outgoing webhooks: a signed POST to registered endpoints for each record event.

Events come from the audit history (django-simple-history), not from model
signals: a periodic job (``collect``) reads the history rows of contacts,
companies, deals, orders and tickets after each endpoint's cursor and turns
them into ``WebhookDelivery`` rows, one per (endpoint, event), unique, in the
same transaction as the cursor move. A job run twice, or a worker that dies
half-way, queues no event twice. ``due`` and ``attempt`` then send them: each
attempt claims its delivery first, so two workers never send the same one.
A failed attempt is retried with exponential back-off (1, 2, 4, 8 ... minutes)
until ``max_attempts()``, then marked failed; one endpoint's failures never
hold up another's deliveries.

Every POST carries::

    X-Rapport-Event: contact.updated
    X-Rapport-Delivery: <delivery id>
    X-Rapport-Timestamp: <unix seconds>
    X-Rapport-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>

The timestamp is part of what is signed, so a receiver that refuses old
timestamps (say, older than five minutes) cannot be fooled by a replay.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import secrets
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models, transaction
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone
from rest_framework.utils.encoders import JSONEncoder

from rapport.core.permissions import Action, authorise
from rapport.core.services import create_record, move_to_trash, save_changes
from rapport.marketing.automation import SIGNATURE_HEADER, allow_http_webhooks, sign
from rapport.marketing.choices import WEBHOOK_EVENTS, WEBHOOK_OBJECTS, DeliveryStatus
from rapport.marketing.models import WebhookDelivery, WebhookEndpoint

if TYPE_CHECKING:
    from rapport.users.models import User

logger = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Rapport-Timestamp"
EVENT_HEADER = "X-Rapport-Event"
DELIVERY_HEADER = "X-Rapport-Delivery"
USER_AGENT = "Rapport-Webhooks"
TIMEOUT = 5  # seconds per POST
FIRST_RETRY = timedelta(minutes=1)  # then 2, 4, 8 ... minutes
# A claimed delivery is being sent; after this long its worker is taken for dead.
CLAIM_LEASE = timedelta(minutes=5)
# History rows younger than this are left for the next run: a transaction that
# took its history id earlier may still be committing (ids are not commit order).
SETTLE = timedelta(seconds=30)
BATCH = 500  # history rows per query
MAX_BATCHES = 20  # per object type and run; the rest waits for the next minute
SEND_PER_RUN = 200
RESPONSE_SNIPPET = 500
ENDPOINT_CHANGES = {"url", "description", "enabled", "events"}
PRIVATE_REFUSED = "Webhooks go to public addresses, not to this server's own network."


def max_attempts() -> int:
    return int(getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 6))


def allow_private_targets() -> bool:
    """Loopback and private addresses only where plain http is allowed too.

    ``AUTOMATION_WEBHOOK_ALLOW_HTTP`` is the switch for a receiver on a
    trusted network (and for tests): it allows both.
    """
    return allow_http_webhooks()


# --- what is sent -----------------------------------------------------------------------


def _sources() -> dict[str, tuple[type[models.Model], Any]]:
    """Each object type: its model and the API serializer that represents it."""
    from rapport.customers.api.serializers import CompanySerializer, ContactSerializer
    from rapport.customers.models import Company, Contact
    from rapport.sales.api.serializers import DealSerializer
    from rapport.sales.models import Deal
    from rapport.service.api.serializers import TicketSerializer
    from rapport.service.models import Ticket
    from rapport.trading.api.serializers import OrderSerializer
    from rapport.trading.models import Order

    return {
        "contact": (Contact, ContactSerializer),
        "company": (Company, CompanySerializer),
        "deal": (Deal, DealSerializer),
        "order": (Order, OrderSerializer),
        "ticket": (Ticket, TicketSerializer),
    }


def payload(
    event: str, event_key: str, occurred_at: datetime, kind: str, object_id: int, data: Any
) -> str:
    """The JSON body of every delivery: one shape, built here only."""
    body = {
        "event": event,
        "event_id": event_key,
        "occurred_at": occurred_at.isoformat(),
        "object": {"type": kind, "id": object_id},
        "data": data,
    }
    return json.dumps(body, cls=JSONEncoder, sort_keys=True)


def represent(kind: str, record: models.Model | None) -> Any:
    """The record as the API shows it (``None`` once it is gone for good)."""
    if record is None:
        return None
    serializer = _sources()[kind][1]
    return serializer(record).data


def headers(delivery: WebhookDelivery, secret: str, timestamp: int) -> dict[str, str]:
    body = delivery.body.encode()
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.pk),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, f"{timestamp}.".encode() + body),
    }


# --- validation -------------------------------------------------------------------------


def clean_url(url: str) -> str:
    url = url.strip()
    schemes = ["https", "http"] if allow_http_webhooks() else ["https"]
    try:
        URLValidator(schemes=schemes)(url)
    except ValidationError:
        raise ValidationError({"url": ["Give an https:// address."]}) from None
    if len(url) > 500:
        raise ValidationError({"url": ["At most 500 characters."]})
    host = urllib.parse.urlsplit(url).hostname or ""
    if not allow_private_targets() and (_is_local_name(host) or _is_private(host)):
        raise ValidationError({"url": [PRIVATE_REFUSED]})
    return url


def clean_events(events: Any) -> list[str]:
    if isinstance(events, str):
        events = [name.strip() for name in events.split(",") if name.strip()]
    if not isinstance(events, list) or not events:
        raise ValidationError({"events": ["Pick at least one event."]})
    unknown = [str(name) for name in events if name not in WEBHOOK_EVENTS]
    if unknown:
        raise ValidationError(
            {"events": [f"Unknown event {', '.join(unknown)}; use {', '.join(WEBHOOK_EVENTS)}."]}
        )
    return [name for name in WEBHOOK_EVENTS if name in events]


def _is_local_name(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "localhost" or host.endswith((".localhost", ".local", ".internal"))


def _is_private(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def _check_target(url: str) -> None:
    """At send time: every address the name resolves to must be public (unless allowed)."""
    if allow_private_targets():
        return
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if _is_local_name(host):
        raise ValidationError(PRIVATE_REFUSED)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for *_, sockaddr in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP):
        if _is_private(str(sockaddr[0])):
            raise ValidationError(PRIVATE_REFUSED)


# --- writes (admins) ----------------------------------------------------------------------


def create_endpoint(
    actor: User | None,
    *,
    url: str,
    events: Any,
    description: str = "",
    enabled: bool = True,
) -> WebhookEndpoint:
    """Register an endpoint; it gets events from now on, signed with a new secret."""
    authorise(actor, Action.ADD, WebhookEndpoint)
    endpoint = WebhookEndpoint(
        url=clean_url(url),
        events=clean_events(events),
        description=description.strip()[:200],
        enabled=enabled,
        secret=secrets.token_hex(32),
        cursors=_latest_cursors(),
    )
    with transaction.atomic():
        create_record(endpoint, actor=actor, reason="Created")
    return endpoint


def update_endpoint(
    actor: User | None,
    endpoint: WebhookEndpoint,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> WebhookEndpoint:
    authorise(actor, Action.CHANGE, endpoint)
    unknown = set(changes) - ENDPOINT_CHANGES
    if unknown:
        raise ValidationError({name: ["This cannot be changed."] for name in sorted(unknown)})
    cleaned = dict(changes)
    if "url" in cleaned:
        cleaned["url"] = clean_url(str(cleaned["url"]))
    if "events" in cleaned:
        cleaned["events"] = clean_events(cleaned["events"])
    if "description" in cleaned:
        cleaned["description"] = str(cleaned["description"]).strip()[:200]
    if cleaned.get("enabled") and not endpoint.enabled:
        # Switched back on: what happened while it was off is not sent.
        cleaned["cursors"] = _latest_cursors()
    return save_changes(
        endpoint, cleaned, actor=actor, expected_version=expected_version, reason="Edited"
    )


def rotate_secret(actor: User | None, endpoint: WebhookEndpoint) -> str:
    """A new signing secret, returned once for the admin to copy."""
    authorise(actor, Action.CHANGE, endpoint)
    secret = secrets.token_hex(32)
    save_changes(endpoint, {"secret": secret}, actor=actor, reason="Secret rotated")
    return secret


def trash_endpoint(actor: User | None, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Into the trash: nothing more is sent to it; its delivery log stays."""
    authorise(actor, Action.DELETE, endpoint)
    return move_to_trash(endpoint, actor=actor)


def resend(actor: User | None, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a logged delivery's event again, as a new delivery (same body, new log row)."""
    authorise(actor, Action.CHANGE, delivery.endpoint)
    if delivery.endpoint.deleted_at is not None:
        raise ValidationError("The endpoint is in the trash.")
    again = WebhookDelivery.objects.create(
        endpoint=delivery.endpoint,
        event=delivery.event,
        event_key=f"resend:{uuid.uuid4()}",
        body=delivery.body,
        occurred_at=delivery.occurred_at,
        next_attempt_at=timezone.now(),
    )
    _enqueue([again.pk])
    return again


def send_test(actor: User | None, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A ``ping`` event, sent now (while the admin waits), and logged like any delivery."""
    authorise(actor, Action.CHANGE, endpoint)
    if endpoint.deleted_at is not None:
        raise ValidationError("The endpoint is in the trash.")
    now = timezone.now()
    key = f"ping:{uuid.uuid4()}"
    ping = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event="ping",
        event_key=key,
        body=payload("ping", key, now, "endpoint", endpoint.pk, {"url": endpoint.url}),
        occurred_at=now,
        next_attempt_at=now,
    )
    attempt(ping.pk, now=now, even_disabled=True)
    ping.refresh_from_db()
    return ping


def _enqueue(ids: Iterable[int]) -> None:
    from rapport.marketing import tasks

    for pk in list(ids):
        transaction.on_commit(partial(tasks.send_webhook, pk))


# --- collecting events ------------------------------------------------------------------


def _history(kind: str) -> Any:
    model = _sources()[kind][0]
    return model.history.model.objects  # type: ignore[attr-defined]


def _latest_cursors() -> dict[str, int]:
    return {kind: _latest(kind) for kind in WEBHOOK_OBJECTS}


def _latest(kind: str) -> int:
    return int(_history(kind).aggregate(last=Max("history_id"))["last"] or 0)


@dataclass(frozen=True)
class Event:
    name: str
    key: str
    kind: str
    object_id: int
    history_id: int
    occurred_at: datetime


def _event_name(kind: str, row: Any) -> str | None:
    if row.history_type == "+":
        return f"{kind}.created"
    if row.history_type == "-":
        return f"{kind}.deleted"
    if row.deleted_at is not None:
        # Moved to the trash now: deleted. Edited while in the trash: nothing to tell.
        return f"{kind}.deleted" if row.was_deleted_at is None else None
    return f"{kind}.updated"


def _events(kind: str, after: int, until: datetime) -> list[Event]:
    history = _history(kind)
    earlier = history.filter(id=OuterRef("id"), history_id__lt=OuterRef("history_id"))
    rows = (
        history.filter(history_id__gt=after, history_date__lte=until)
        .annotate(was_deleted_at=Subquery(earlier.order_by("-history_id").values("deleted_at")[:1]))
        .only("history_id", "id", "history_type", "history_date", "deleted_at")
        .order_by("history_id")[:BATCH]
    )
    events = []
    for row in rows:
        name = _event_name(kind, row)
        events.append(
            Event(
                name=name or "",
                key=f"{kind}:{row.history_id}",
                kind=kind,
                object_id=row.id,
                history_id=row.history_id,
                occurred_at=row.history_date,
            )
        )
    return events


def collect(*, now: datetime | None = None) -> int:
    """Turn new history rows into deliveries for the enabled endpoints; returns how many."""
    until = (now or timezone.now()) - SETTLE
    endpoints = list(WebhookEndpoint.objects.filter(enabled=True, deleted_at__isnull=True))
    if not endpoints:
        return 0
    queued = 0
    for kind in WEBHOOK_OBJECTS:
        for _ in range(MAX_BATCHES):
            created, more = _collect_batch(kind, endpoints, until)
            queued += created
            if not more:
                break
    return queued


def _collect_batch(
    kind: str, endpoints: list[WebhookEndpoint], until: datetime
) -> tuple[int, bool]:
    for endpoint in endpoints:
        if kind not in endpoint.cursors:  # an object type added since it was registered
            endpoint.cursors = {**endpoint.cursors, kind: _latest(kind)}
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(cursors=endpoint.cursors)
    listening = [e for e in endpoints if any(n.startswith(f"{kind}.") for n in e.events)]
    floor = min(int(endpoint.cursors[kind]) for endpoint in endpoints)
    if not listening:
        # Nobody wants these events: just keep the cursors up with the history.
        last = _latest(kind)
        _move_cursors(kind, endpoints, last)
        return 0, False
    events = _events(kind, floor, until)
    if not events:
        return 0, False
    model, _ = _sources()[kind]
    wanted = {
        event.object_id
        for event in events
        for endpoint in listening
        if event.name in endpoint.events and event.history_id > int(endpoint.cursors[kind])
    }
    records = model._base_manager.in_bulk(list(wanted))
    bodies: dict[str, str] = {}
    rows = []
    for event in events:
        for endpoint in listening:
            if event.name not in endpoint.events:
                continue
            if event.history_id <= int(endpoint.cursors[kind]):
                continue
            if event.key not in bodies:
                data = represent(kind, records.get(event.object_id))
                bodies[event.key] = payload(
                    event.name, event.key, event.occurred_at, kind, event.object_id, data
                )
            rows.append(
                WebhookDelivery(
                    endpoint=endpoint,
                    event=event.name,
                    event_key=event.key,
                    body=bodies[event.key],
                    occurred_at=event.occurred_at,
                    next_attempt_at=timezone.now(),
                )
            )
    last = events[-1].history_id
    with transaction.atomic():
        # ignore_conflicts: a run that overlaps another adds nothing twice.
        WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        _move_cursors(kind, endpoints, last)
    return len(rows), len(events) == BATCH


def _move_cursors(kind: str, endpoints: list[WebhookEndpoint], last: int) -> None:
    for endpoint in endpoints:
        if int(endpoint.cursors[kind]) < last:
            endpoint.cursors = {**endpoint.cursors, kind: last}
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(cursors=endpoint.cursors)


# --- sending ----------------------------------------------------------------------------


def due(*, now: datetime | None = None) -> list[int]:
    """Pending deliveries whose time has come, oldest first, for enabled endpoints."""
    now = now or timezone.now()
    rows = WebhookDelivery.objects.filter(
        status=DeliveryStatus.PENDING,
        next_attempt_at__lte=now,
        endpoint__enabled=True,
        endpoint__deleted_at__isnull=True,
    ).order_by("next_attempt_at", "id")
    return list(rows.values_list("pk", flat=True)[:SEND_PER_RUN])


def run(*, now: datetime | None = None) -> int:
    """The periodic job: collect new events, then send what is due (each in its own task)."""
    try:
        collect(now=now)
    except Exception:
        logger.exception("Webhook events could not be collected")
    ids = due(now=now)
    from rapport.marketing import tasks

    for pk in ids:
        # A clock given to the job (tests, a replay) is the clock of its attempts too.
        tasks.send_webhook(pk, now)
    return len(ids)


def attempt(delivery_id: int, *, now: datetime | None = None, even_disabled: bool = False) -> bool:
    """One attempt at a pending, due delivery; True when it was delivered.

    The claim (a conditional UPDATE pushing ``next_attempt_at`` past the
    lease) makes sure only one worker sends it.
    """
    now = now or timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + CLAIM_LEASE)
    if not claimed:
        return False
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if endpoint.deleted_at is not None or not (endpoint.enabled or even_disabled):
        # Disabled meanwhile: left pending, sent if it is switched back on.
        WebhookDelivery.objects.filter(pk=delivery_id).update(next_attempt_at=now)
        return False
    status: int | None = None
    snippet = error = ""
    try:
        _check_target(endpoint.url)
        status, snippet = _post(endpoint.url, delivery, endpoint.secret)
    except urllib.error.HTTPError as answer:
        status = answer.code
        snippet = _read(answer)
        error = f"The endpoint answered {answer.code}."
    except ValidationError as refused:
        error = " ".join(refused.messages)
    except Exception as failure:  # network errors, timeouts: all retried
        error = str(getattr(failure, "reason", "") or failure or type(failure).__name__)
    attempts = delivery.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_attempt_at": now,
        "response_status": status,
        "response_body": snippet[:RESPONSE_SNIPPET],
        "error": error[:300],
    }
    if not error:
        values.update(status=DeliveryStatus.SUCCEEDED, delivered_at=now, next_attempt_at=None)
    elif attempts >= max_attempts():
        values.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
    else:
        values["next_attempt_at"] = now + FIRST_RETRY * 2 ** (attempts - 1)
    WebhookDelivery.objects.filter(pk=delivery_id).update(**values)
    if error:
        logger.info("Webhook delivery %s failed (attempt %s): %s", delivery_id, attempts, error)
    return not error


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a new address to send customer data to."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _post(url: str, delivery: WebhookDelivery, secret: str) -> tuple[int, str]:
    return post(url, delivery.body.encode(), headers(delivery, secret, int(time.time())))


def post(url: str, body: bytes, sent_headers: Mapping[str, str]) -> tuple[int, str]:
    """POST ``body`` to a cleaned webhook address: (status, start of the answer).

    Every webhook Rapport sends (endpoints and the automation action) goes
    through here, so each is checked against private addresses at send time
    and never follows a redirect. A non-2xx answer raises ``HTTPError``.
    """
    _check_target(url)
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked in clean_url
        url, data=body, method="POST", headers=dict(sent_headers)
    )
    with _opener.open(request, timeout=TIMEOUT) as answer:
        return answer.status, _read(answer)


def _read(answer: Any) -> str:
    try:
        return str(answer.read(RESPONSE_SNIPPET).decode("utf-8", "replace"))
    except Exception:
        return ""
