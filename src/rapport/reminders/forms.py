from __future__ import annotations

from typing import Any

from django import forms

from rapport.customers.forms import owner_field
from rapport.reminders.choices import Priority

RECURRENCE_HELP = "Optional RFC 5545 rule, e.g. FREQ=WEEKLY;BYDAY=MO or FREQ=MONTHLY;BYMONTHDAY=-1"


class QuickTaskForm(forms.Form):
    """The one-line "add a task" of My day and of customer pages."""

    title = forms.CharField(max_length=200)
    due_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Due date")
    due_time = forms.TimeField(
        required=False, widget=forms.TimeInput(attrs={"type": "time"}), label="Time"
    )
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.NORMAL, required=False)
    recurrence = forms.CharField(
        max_length=500, required=False, label="Repeats", help_text=RECURRENCE_HELP
    )
    contact = forms.IntegerField(required=False, widget=forms.HiddenInput)
    company = forms.IntegerField(required=False, widget=forms.HiddenInput)


class TaskForm(forms.Form):
    """Every field of a task, with the version it was read at (conflicts are refused)."""

    title = forms.CharField(max_length=200)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    due_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Due date")
    due_time = forms.TimeField(
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}),
        label="Time",
        help_text="empty for all day",
    )
    time_zone = forms.CharField(max_length=64, required=False)
    priority = forms.ChoiceField(choices=Priority.choices)
    recurrence = forms.CharField(
        max_length=500, required=False, label="Repeats", help_text=RECURRENCE_HELP
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"] = owner_field()
