"""The composer (log a touchpoint) and the edit form of the timeline."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from rapport.core.permissions import Action, Scope, can, scope_for
from rapport.customers import queries as customer_queries
from rapport.customers.models import Company, Contact
from rapport.interactions.choices import MANUAL_KINDS, Channel, Direction, InteractionKind, Outcome
from rapport.interactions.models import Interaction
from rapport.interactions.services import EDITABLE_FIELDS, SUBJECT_LENGTH, LoggedTouchpoint
from rapport.users.models import User

# What a browser's datetime-local input sends and shows.
LOCAL_MINUTES = "%Y-%m-%dT%H:%M"


def _optional(choices: list[tuple[str, str]], empty: str = "—") -> list[tuple[str, str]]:
    return [("", empty), *choices]


class InteractionForm(forms.Form):
    kind = forms.ChoiceField(choices=[(kind.value, kind.label) for kind in MANUAL_KINDS])
    occurred_at = forms.DateTimeField(
        label="When",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_MINUTES),
    )
    subject = forms.CharField(max_length=SUBJECT_LENGTH, label="What happened")
    body = forms.CharField(
        required=False, label="Details", widget=forms.Textarea(attrs={"rows": 3})
    )
    outcome = forms.ChoiceField(required=False, choices=_optional(Outcome.choices))
    duration_minutes = forms.IntegerField(
        required=False, min_value=0, max_value=1440, label="Minutes"
    )
    channel = forms.ChoiceField(
        required=False,
        # "Rapport" is for rows the system writes, not for people.
        choices=_optional([c for c in Channel.choices if c[0] != Channel.SYSTEM]),
    )
    direction = forms.ChoiceField(required=False, choices=_optional(Direction.choices))
    owner = forms.ModelChoiceField(queryset=User.objects.none(), label="Who", required=False)
    contact = forms.ModelChoiceField(queryset=Contact.objects.none(), label="With", required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args: Any,
        viewer: User,
        record: Contact | Company | None = None,
        instance: Interaction | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.viewer = viewer
        self.record = record
        self.instance = instance
        if instance is not None:
            # Edits keep who, with whom and where; a system-written row keeps its kind.
            for name in ("owner", "contact"):
                del self.fields[name]
            if instance.kind not in MANUAL_KINDS:
                del self.fields["kind"]
            return
        del self.fields["version"]
        if scope_for(viewer, Interaction, Action.CHANGE) == Scope.ALL:
            owner: Any = self.fields["owner"]
            owner.queryset = User.objects.filter(is_active=True).order_by("full_name")
            owner.empty_label = None
            # Read the menu once: without an empty choice, Django's "required"
            # attribute check would otherwise run the query a second time.
            owner.widget.choices = list(iter(owner.choices))  # iter(): no COUNT query first
        else:
            del self.fields["owner"]
        if isinstance(record, Company):
            self.fields["contact"].queryset = (  # type: ignore[attr-defined]
                customer_queries.contacts(viewer)
                .select_related(None)
                .prefetch_related(None)  # the list's tags: not needed for a name in a menu
                .filter(memberships__company=record)
                .order_by("full_name")
            )
            self.fields["contact"].empty_label = "Nobody in particular"  # type: ignore[attr-defined]
        else:
            del self.fields["contact"]

    def touchpoint(self) -> LoggedTouchpoint:
        """What the composer logs (after ``is_valid``)."""
        data = self.cleaned_data
        record = self.record
        contact = record if isinstance(record, Contact) else data.get("contact")
        return LoggedTouchpoint(
            kind=data["kind"],
            subject=data["subject"],
            contact=contact,
            company=record if isinstance(record, Company) else None,
            occurred_at=data["occurred_at"],
            body=data["body"],
            channel=data["channel"],
            direction=data["direction"],
            outcome=data["outcome"],
            duration_minutes=data["duration_minutes"],
            owner=data.get("owner"),
        )

    def changes(self) -> dict[str, Any]:
        """The edited fields (after ``is_valid``), for ``update_interaction``."""
        return {name: value for name, value in self.cleaned_data.items() if name in EDITABLE_FIELDS}

    def apply_errors(self, error: ValidationError) -> None:
        """Show a service's ValidationError next to the fields it names."""
        if not hasattr(error, "error_dict"):
            for message in error.messages:
                self.add_error(None, message)
            return
        for name, messages in error.message_dict.items():
            target = name if name in self.fields else None
            for message in messages:
                self.add_error(
                    target, message if target or name == "__all__" else f"{name}: {message}"
                )


def composer_for(
    viewer: User, record: Contact | Company, data: Any = None
) -> InteractionForm | None:
    """The "log a touchpoint" form for this customer, or None if the viewer may not log."""
    if not can(viewer, Action.ADD, Interaction):
        return None
    now = timezone.localtime(timezone.now()).replace(second=0, microsecond=0)
    initial = {"kind": InteractionKind.CALL, "occurred_at": now, "owner": viewer.pk}
    return InteractionForm(data, viewer=viewer, record=record, initial=initial, prefix="log")


def edit_form_for(viewer: User, interaction: Interaction, data: Any = None) -> InteractionForm:
    initial = {name: getattr(interaction, name) for name in EDITABLE_FIELDS}
    initial["occurred_at"] = timezone.localtime(interaction.occurred_at)
    initial["version"] = interaction.version
    return InteractionForm(
        data, viewer=viewer, instance=interaction, initial=initial, prefix=f"edit{interaction.pk}"
    )
