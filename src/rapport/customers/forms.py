from __future__ import annotations

from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.urls import reverse_lazy
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from rapport.core.models import CustomFieldDefinition, CustomFieldType
from rapport.customers.choices import (
    CompanySize,
    ConsentChannel,
    ConsentPurpose,
    LifecycleStage,
)
from rapport.users.models import User

# A text box that suggests company names as you type (htmx fills the datalist).
COMPANY_PICKER = {
    "list": "company-suggestions",
    "autocomplete": "off",
    "placeholder": "Company name",
    "hx-get": reverse_lazy("customers:company-suggest"),
    "hx-trigger": "input changed delay:200ms",
    "hx-target": "#company-suggestions",
    "hx-swap": "innerHTML",
}


class PlainSelect(forms.Select):
    """A select whose options are written here rather than one template each.

    Django renders every option through its own template include; for the
    owner filter (every colleague) that was a third of the list page's time.
    """

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        chosen = {str(v) for v in (value if isinstance(value, list | tuple) else [value])}
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (key, mark_safe(" selected") if str(key) in chosen else "", label)
                for key, label in self.choices
            ),
        )
        final = self.build_attrs(self.attrs, attrs)
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(final), options)


def owner_field() -> forms.ModelChoiceField[User]:
    return forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("full_name"),
        required=False,
        empty_label="Nobody",
        widget=PlainSelect,
    )


class CustomFieldsMixin(forms.Form):
    """Adds one form field per active custom field definition, named ``cf_<key>``."""

    custom_target: str = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.custom_definitions = list(
            CustomFieldDefinition.objects.filter(target=self.custom_target, is_active=True)
        )
        for definition in self.custom_definitions:
            self.fields[f"cf_{definition.key}"] = _form_field(definition)

    def custom_values(self) -> dict[str, Any]:
        return {
            definition.key: self.cleaned_data.get(f"cf_{definition.key}")
            for definition in self.custom_definitions
        }


def _form_field(definition: CustomFieldDefinition) -> forms.Field:
    common: dict[str, Any] = {
        "label": definition.label,
        "required": False,  # required-ness is checked by the service, with a clear message
        "help_text": definition.help_text,
    }
    kind = definition.field_type
    choices = [(choice, choice) for choice in definition.choices]
    if kind == CustomFieldType.NUMBER:
        return forms.DecimalField(**common)
    if kind == CustomFieldType.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == CustomFieldType.BOOLEAN:
        return forms.BooleanField(**common)
    if kind == CustomFieldType.URL:
        return forms.URLField(assume_scheme="https", **common)
    if kind == CustomFieldType.CHOICE:
        return forms.ChoiceField(choices=[("", "—"), *choices], **common)
    if kind == CustomFieldType.MULTI_CHOICE:
        return forms.MultipleChoiceField(
            choices=choices, widget=forms.CheckboxSelectMultiple, **common
        )
    return forms.CharField(max_length=1000, **common)


class ContactForm(CustomFieldsMixin):
    custom_target = "contact"

    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    job_title = forms.CharField(max_length=150, required=False)
    birthday = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    language = forms.CharField(max_length=10, required=False)
    time_zone = forms.CharField(max_length=64, required=False)
    source = forms.CharField(max_length=100, required=False, help_text="How we got them")
    owner = owner_field()
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class NewContactForm(ContactForm):
    duplicate_url = ""  # set when the save found an existing record to open instead
    email = forms.CharField(max_length=254, required=False, label="E-mail")
    phone = forms.CharField(max_length=40, required=False, help_text="With +country code")
    company = forms.CharField(
        max_length=200,
        required=False,
        help_text="Type to pick an existing company",
        widget=forms.TextInput(attrs=COMPANY_PICKER),
    )
    company_role = forms.CharField(max_length=150, required=False, label="Role at the company")
    lifecycle_stage = forms.ChoiceField(
        choices=LifecycleStage.choices, initial=LifecycleStage.LEAD, label="Stage"
    )
    tags = forms.CharField(required=False, help_text="Comma-separated")

    field_order = [
        "first_name",
        "last_name",
        "email",
        "phone",
        "company",
        "company_role",
        "job_title",
        "lifecycle_stage",
        "owner",
        "tags",
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["version"]


class CompanyForm(CustomFieldsMixin):
    custom_target = "company"

    name = forms.CharField(max_length=200)
    domain = forms.CharField(max_length=253, required=False, help_text="e.g. example.com")
    industry = forms.CharField(max_length=100, required=False)
    size = forms.ChoiceField(choices=[("", "—"), *CompanySize.choices], required=False)
    annual_revenue = forms.DecimalField(max_digits=16, decimal_places=2, required=False)
    currency = forms.CharField(max_length=3, required=False, help_text="ISO code, e.g. EUR")
    owner = owner_field()
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class NewCompanyForm(CompanyForm):
    duplicate_url = ""  # set when the save found an existing record to open instead
    lifecycle_stage = forms.ChoiceField(
        choices=LifecycleStage.choices, initial=LifecycleStage.LEAD, label="Stage"
    )
    tags = forms.CharField(required=False, help_text="Comma-separated")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["version"]


class StageForm(forms.Form):
    stage = forms.ChoiceField(choices=LifecycleStage.choices)
    reason = forms.CharField(max_length=300, required=False)


class ConsentForm(forms.Form):
    channel = forms.ChoiceField(choices=ConsentChannel.choices)
    purpose = forms.ChoiceField(choices=ConsentPurpose.choices)
    granted = forms.TypedChoiceField(
        choices=[("1", "Granted"), ("0", "Withdrawn")], coerce=lambda v: v == "1"
    )
    source = forms.CharField(max_length=100)
    evidence = forms.CharField(max_length=1000, required=False)


class MembershipForm(forms.Form):
    company = forms.CharField(max_length=200, widget=forms.TextInput(attrs=COMPANY_PICKER))
    role = forms.CharField(max_length=150, required=False)


class AddEmailForm(forms.Form):
    email = forms.CharField(max_length=254)
    primary = forms.BooleanField(required=False)


class AddPhoneForm(forms.Form):
    number = forms.CharField(max_length=40)
    primary = forms.BooleanField(required=False)
