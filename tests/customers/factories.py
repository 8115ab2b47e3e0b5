"""Small builders for customer records, all going through rapport.customers.services."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from rapport.core.models import CustomFieldDefinition, CustomFieldTarget
from rapport.customers import services
from rapport.customers.choices import LifecycleStage
from rapport.customers.models import Company, Contact
from rapport.users.models import User

_numbers = itertools.count(1)


def make_contact(
    actor: User | None = None,
    *,
    first_name: str | None = None,
    last_name: str = "Tester",
    emails: Sequence[str | services.EmailInput] | None = None,
    phones: Sequence[str | services.PhoneInput] = (),
    owner: User | None = None,
    lifecycle_stage: str = LifecycleStage.LEAD,
    tags: Sequence[str] = (),
    companies: Sequence[tuple[Company, str]] = (),
    custom_fields: dict[str, Any] | None = None,
    external_id: str | None = None,
    **extra: Any,
) -> Contact:
    """A contact with a unique name and e-mail unless told otherwise."""
    number = next(_numbers)
    first = first_name if first_name is not None else f"Person{number}"
    return services.create_contact(
        actor,
        services.ContactInput(
            first_name=first,
            last_name=last_name,
            emails=[f"person{number}@example.org"] if emails is None else list(emails),
            phones=list(phones),
            owner=owner,
            lifecycle_stage=lifecycle_stage,
            tags=list(tags),
            companies=list(companies),
            custom_fields=custom_fields or {},
            external_id=external_id,
            **extra,
        ),
    )


def make_company(
    actor: User | None = None,
    *,
    name: str | None = None,
    owner: User | None = None,
    **extra: Any,
) -> Company:
    number = next(_numbers)
    return services.create_company(
        actor, name=name if name is not None else f"Company {number}", owner=owner, **extra
    )


def define_field(
    key: str,
    field_type: str,
    *,
    target: str = CustomFieldTarget.CONTACT,
    choices: Sequence[str] = (),
    required: bool = False,
    label: str | None = None,
) -> CustomFieldDefinition:
    """What an admin does on the custom fields page: one typed field."""
    return CustomFieldDefinition.objects.create(
        target=target,
        key=key,
        label=label or key.replace("_", " ").capitalize(),
        field_type=field_type,
        choices=list(choices),
        required=required,
    )
