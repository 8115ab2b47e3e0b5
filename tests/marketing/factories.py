"""Builders for segments and campaigns, all through rapport.marketing.services."""

from __future__ import annotations

import itertools
from typing import Any

from rapport.customers import services as customer_services
from rapport.customers.models import Contact
from rapport.marketing import services
from rapport.marketing.choices import SegmentKind
from rapport.marketing.models import Campaign, Segment
from rapport.users.models import User

_numbers = itertools.count(1)


def rule(kind: str, **params: Any) -> dict[str, Any]:
    return {"kind": kind, **params}


def all_of(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"op": "and", "rules": list(rules)}


def any_of(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"op": "or", "rules": list(rules)}


def make_segment(
    actor: User | None = None, *rules: dict[str, Any], name: str | None = None, **extra: Any
) -> Segment:
    return services.create_segment(
        actor,
        name=name or f"Segment {next(_numbers)}",
        rules_tree=all_of(*rules),
        **extra,
    )


def make_list(actor: User | None, contacts: list[Contact], name: str = "Fair") -> Segment:
    segment = services.create_segment(actor, name=name, kind=SegmentKind.STATIC)
    services.add_to_list(actor, segment, contacts)
    return segment


def make_campaign(actor: User | None, segment: Segment, **extra: Any) -> Campaign:
    values: dict[str, Any] = {
        "name": f"Campaign {next(_numbers)}",
        "segment": segment,
        "subject": "Hello {{ contact.first_name }}",
        "text_body": "Dear {{ contact.first_name }},\nnews for you.",
        "html_body": '<p>Dear {{ contact.first_name }}</p><a href="https://shop.example/x?a=1&amp;b=2">Shop</a>',
        **extra,
    }
    return services.create_campaign(actor, services.CampaignInput(**values))


def consent(contact: Contact, *, granted: bool = True, purpose: str = "marketing") -> None:
    customer_services.set_consent(
        None, contact, channel="email", purpose=purpose, granted=granted, source="web form"
    )
