from __future__ import annotations

from typing import Any

from django import forms

from rapport.core.permissions import Role
from rapport.service.choices import Priority, TicketChannel
from rapport.users.models import Team, User

WORKERS = (Role.ADMIN, Role.MANAGER, Role.SERVICE, Role.SALES)


def _people() -> list[tuple[str, str]]:
    rows = User.objects.filter(is_active=True, role__in=WORKERS).order_by("full_name")
    return [("", "Nobody yet")] + [
        (str(pk), name) for pk, name in rows.values_list("pk", "full_name")
    ]


def _teams() -> list[tuple[str, str]]:
    return [("", "No team")] + [
        (str(pk), name) for pk, name in Team.objects.values_list("pk", "name")
    ]


class TicketForm(forms.Form):
    subject = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    contact = forms.IntegerField(
        required=False, min_value=1, label="Contact id", help_text="Start from the contact's page"
    )
    company = forms.IntegerField(required=False, min_value=1, label="Company id")
    asset = forms.IntegerField(required=False, min_value=1, label="Unit id (installed base)")
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.NORMAL)
    channel = forms.ChoiceField(choices=TicketChannel.choices, initial=TicketChannel.PHONE)
    assignee = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    team = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assignee: Any = self.fields["assignee"]
        assignee.choices = _people()
        team: Any = self.fields["team"]
        team.choices = _teams()


class ComposerForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label="Message")
    kind = forms.ChoiceField(
        choices=[("reply", "Reply to the customer"), ("note", "Internal note")],
        initial="reply",
        widget=forms.RadioSelect,
    )


WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]


class CalendarForm(forms.Form):
    name = forms.CharField(max_length=100)
    time_zone = forms.CharField(max_length=64, initial="UTC", help_text="e.g. Europe/Berlin")
    working_days = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, initial=[0, 1, 2, 3, 4], widget=forms.CheckboxSelectMultiple
    )
    day_start = forms.TimeField(initial="09:00", widget=forms.TimeInput(attrs={"type": "time"}))
    day_end = forms.TimeField(initial="17:00", widget=forms.TimeInput(attrs={"type": "time"}))


class HolidayForm(forms.Form):
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    name = forms.CharField(max_length=100, required=False)


class PolicyForm(forms.Form):
    name = forms.CharField(max_length=100)
    priority = forms.ChoiceField(choices=Priority.choices)
    calendar = forms.TypedChoiceField(coerce=int)
    first_response_minutes = forms.IntegerField(min_value=1, label="First response (business min)")
    resolution_minutes = forms.IntegerField(min_value=1, label="Resolution (business min)")
    warning_minutes = forms.IntegerField(min_value=0, initial=60, label="Warn before (min)")

    def __init__(self, *args: Any, calendars: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["calendar"]
        field.choices = calendars
