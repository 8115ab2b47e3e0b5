from __future__ import annotations

from typing import Any

from django import forms

from rapport.customers.choices import LifecycleStage
from rapport.marketing.choices import ActionType, SegmentKind, Trigger
from rapport.marketing.models import Segment
from rapport.marketing.rules import SCORE_METRICS


class SegmentForm(forms.Form):
    name = forms.CharField(max_length=150)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    kind = forms.ChoiceField(choices=SegmentKind.choices, initial=SegmentKind.DYNAMIC)


class AddMembersForm(forms.Form):
    emails = forms.CharField(
        label="E-mail addresses",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line; contacts you may see are added.",
    )


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=150)
    segment = forms.ModelChoiceField(queryset=Segment.objects.none())
    subject = forms.CharField(max_length=200)
    text_body = forms.CharField(label="Text", widget=forms.Textarea(attrs={"rows": 10}))
    html_body = forms.CharField(
        label="HTML (optional)", required=False, widget=forms.Textarea(attrs={"rows": 10})
    )
    track_opens = forms.BooleanField(required=False, label="Track opens (invisible image)")
    attribution_days = forms.IntegerField(min_value=1, max_value=365, initial=30)

    def __init__(self, *args: Any, segments: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = segments  # type: ignore[attr-defined]


class ScheduleForm(forms.Form):
    at = forms.DateTimeField(
        label="Send at", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


class TestSendForm(forms.Form):
    to = forms.EmailField(label="Send a test to")
    contact = forms.IntegerField(widget=forms.HiddenInput)


ACTION_ROWS = 3


class AutomationForm(forms.Form):
    name = forms.CharField(max_length=150)
    enabled = forms.BooleanField(required=False, initial=True)
    trigger = forms.ChoiceField(choices=Trigger.choices)
    metric = forms.ChoiceField(
        label="Score", required=False, choices=SCORE_METRICS, help_text="for score triggers"
    )
    op = forms.ChoiceField(
        label="Crosses",
        required=False,
        choices=[("gte", "upwards (at least)"), ("lte", "downwards (at most)")],
    )
    value = forms.CharField(label="Threshold", required=False, help_text="for score triggers")
    days = forms.IntegerField(
        label="Days before due",
        required=False,
        min_value=0,
        max_value=365,
        help_text="for service due",
    )

    def __init__(self, *args: Any, campaigns: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        campaign_choices = [("", "—"), *[(str(c.pk), c.name) for c in campaigns]]
        for row in range(ACTION_ROWS):
            self.fields[f"action{row}_type"] = forms.ChoiceField(
                label=f"Action {row + 1}", required=False, choices=[("", "—"), *ActionType.choices]
            )
            self.fields[f"action{row}_title"] = forms.CharField(label="Task title", required=False)
            self.fields[f"action{row}_due_in_days"] = forms.IntegerField(
                label="Due in days", required=False, min_value=0, max_value=365
            )
            self.fields[f"action{row}_campaign"] = forms.ChoiceField(
                label="Campaign as template", required=False, choices=campaign_choices
            )
            self.fields[f"action{row}_stage"] = forms.ChoiceField(
                label="Stage", required=False, choices=[("", "—"), *LifecycleStage.choices]
            )
            self.fields[f"action{row}_tag"] = forms.CharField(label="Tag", required=False)

    def action_rows(self) -> list[list[Any]]:
        names = ("type", "title", "due_in_days", "campaign", "stage", "tag")
        return [[self[f"action{row}_{name}"] for name in names] for row in range(ACTION_ROWS)]

    def trigger_params(self) -> dict[str, Any]:
        data = self.cleaned_data
        if data["trigger"] == Trigger.SCORE:
            return {"metric": data["metric"], "op": data["op"], "value": data["value"]}
        if data["trigger"] == Trigger.SERVICE_DUE:
            return {"days": data["days"] if data["days"] is not None else ""}
        return {}

    def actions(self) -> list[dict[str, Any]]:
        data = self.cleaned_data
        chosen = []
        for row in range(ACTION_ROWS):
            kind = data.get(f"action{row}_type")
            if not kind:
                continue
            chosen.append(
                {
                    "type": kind,
                    "title": data.get(f"action{row}_title") or "",
                    "due_in_days": data.get(f"action{row}_due_in_days") or 0,
                    "campaign": data.get(f"action{row}_campaign") or "",
                    "stage": data.get(f"action{row}_stage") or "",
                    "tag": data.get(f"action{row}_tag") or "",
                }
            )
        return chosen

    @staticmethod
    def initial_for(rule: Any) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "name": rule.name,
            "enabled": rule.enabled,
            "trigger": rule.trigger,
            **rule.trigger_params,
        }
        for row, action in enumerate(rule.actions[:ACTION_ROWS]):
            for key, value in action.items():
                initial[f"action{row}_{key}"] = value
        return initial
