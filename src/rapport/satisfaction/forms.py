"""Forms of the survey pages; they only shape input, services validate it."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from rapport.satisfaction.choices import SurveyKind
from rapport.satisfaction.models import Survey

IDS = re.compile(r"[\s,;]+")


class SurveyForm(forms.Form):
    name = forms.CharField(max_length=150)
    kind = forms.ChoiceField(choices=SurveyKind.choices)
    intro = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    expectation_question = forms.CharField(
        max_length=300, required=False, help_text="CSAT only; empty takes the default wording"
    )
    performance_question = forms.CharField(max_length=300, required=False, help_text="CSAT only")
    score_question = forms.CharField(max_length=300, required=False, help_text="NPS only")
    comment_question = forms.CharField(max_length=300, required=False)
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    link_valid_days = forms.IntegerField(
        min_value=1, max_value=365, initial=30, label="Link works for (days)"
    )
    after_delivery_days = forms.IntegerField(
        min_value=0,
        max_value=365,
        required=False,
        label="Send after a delivery (days)",
        help_text="empty: not sent after deliveries",
    )
    after_ticket_days = forms.IntegerField(
        min_value=0,
        max_value=365,
        required=False,
        label="Send after a resolved ticket (days)",
        help_text="empty: not sent after tickets",
    )

    def __init__(self, *args: Any, survey: Survey | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if survey is not None:
            self.fields["kind"].disabled = True


class InviteForm(forms.Form):
    survey = forms.ModelChoiceField(queryset=Survey.objects.none())
    contact_ids = forms.CharField(
        required=False,
        label="Contact ids",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="separated by commas or spaces",
    )
    contact_filter = forms.CharField(
        required=False,
        max_length=2000,
        label="Or a contact list filter",
        help_text="the query of a contact list, e.g. lifecycle_stage=customer&tag=vip",
    )

    def __init__(self, *args: Any, surveys: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        survey_field = self.fields["survey"]
        assert isinstance(survey_field, forms.ModelChoiceField)
        survey_field.queryset = surveys

    def clean_contact_ids(self) -> list[int]:
        raw = self.cleaned_data.get("contact_ids") or ""
        parts = [part for part in IDS.split(raw) if part]
        bad = [part for part in parts if not part.isdigit()]
        if bad:
            raise forms.ValidationError(f"Not a contact id: {', '.join(bad[:5])}.")
        return [int(part) for part in parts]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("contact_ids") and not (data.get("contact_filter") or "").strip():
            raise forms.ValidationError("Give contact ids or a contact list filter.")
        return data


def _scale(low: int, high: int, label: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=[(value, str(value)) for value in range(low, high + 1)],
        coerce=int,
        widget=forms.RadioSelect(attrs={"class": "scale"}),
    )


class AnswerForm(forms.Form):
    """The public page's questions, for the survey's kind."""

    comment = forms.CharField(required=False, max_length=5000, widget=forms.Textarea)

    def __init__(self, *args: Any, survey: Survey, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: dict[str, forms.Field] = {}
        if survey.kind == SurveyKind.CSAT:
            fields["expectation"] = _scale(1, 5, survey.expectation_question)
            fields["performance"] = _scale(1, 5, survey.performance_question)
        else:
            fields["score"] = _scale(0, 10, survey.score_question)
        fields["comment"] = self.fields["comment"]
        fields["comment"].label = survey.comment_question or "Anything else?"
        self.fields = fields
