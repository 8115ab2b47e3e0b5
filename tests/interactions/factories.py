"""Touchpoints for tests, written through rapport.interactions.services."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from rapport.customers.models import Company, Contact
from rapport.interactions import services
from rapport.interactions.choices import InteractionKind
from rapport.interactions.models import Interaction
from rapport.users.models import User


def touchpoint(
    owner: User | None,
    *,
    contact: Contact | None = None,
    company: Company | None = None,
    kind: str = InteractionKind.CALL,
    subject: str = "Talked about the offer",
    occurred_at: datetime | None = None,
    **extra: Any,
) -> Interaction:
    """A touchpoint as Rapport records it (no permission check: the system writes it)."""
    return services.record_interaction(
        None,
        kind=kind,
        subject=subject,
        contact=contact,
        company=company,
        occurred_at=occurred_at or timezone.now(),
        owner=owner,
        **extra,
    )


def logged(
    actor: User,
    *,
    contact: Contact | None = None,
    company: Company | None = None,
    kind: str = InteractionKind.CALL,
    subject: str = "Called about the quote",
    **extra: Any,
) -> Interaction:
    """A touchpoint a person logged by hand."""
    return services.log_interaction(
        actor,
        services.LoggedTouchpoint(
            kind=kind, subject=subject, contact=contact, company=company, **extra
        ),
    )
