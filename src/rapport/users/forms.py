from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.core.mail import EmailMultiAlternatives
from django.http import HttpRequest
from django.template import loader

from rapport.core.permissions import Role
from rapport.users.models import Team, User


class VersionedForm(forms.Form):
    """Carries the version the user read, so a stale save becomes a conflict message."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ProfileForm(forms.Form):
    full_name = forms.CharField(max_length=150, label="Name")
    email = forms.EmailField(label="E-mail (you sign in with it)")


class UserForm(VersionedForm):
    full_name = forms.CharField(max_length=150, label="Name")
    email = forms.EmailField(label="E-mail")
    role = forms.ChoiceField(choices=Role.choices)
    team = forms.ModelChoiceField(
        queryset=Team.objects.all(), required=False, empty_label="No team"
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active (may sign in)")


class NewUserForm(UserForm):
    password = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="Leave empty to e-mail them a link to choose their own password.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["is_active"]
        del self.fields["version"]

    def clean(self) -> dict[str, Any]:
        """A weak password is refused next to the password field (the service checks again)."""
        cleaned = super().clean() or {}
        password = cleaned.get("password")
        if password:
            candidate = User(email=cleaned.get("email", ""), full_name=cleaned.get("full_name", ""))
            try:
                password_validation.validate_password(password, candidate)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class TeamForm(VersionedForm):
    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=300, required=False)


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What will use it, e.g. “Zapier” or “ERP sync”."
    )
    expires_in_days = forms.TypedChoiceField(
        label="Expires",
        coerce=int,
        empty_value=None,
        required=False,
        choices=[("", "Never"), (30, "In 30 days"), (90, "In 90 days"), (365, "In a year")],
    )


def user_initial(user: User) -> dict[str, Any]:
    return {
        "full_name": user.full_name,
        "email": user.email,
        "role": user.role,
        "team": user.team_id,
        "is_active": user.is_active,
        "version": user.version,
    }


class LoginForm(auth_forms.AuthenticationForm):
    """Sign in with the e-mail address in any case.

    The address is lower-cased before it reaches ``authenticate()``, so django-axes
    counts failures for ``Ada@Example.com`` and ``ada@example.com`` together.
    """

    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "invalid_login": (
            "Please enter a correct e-mail and password. The password is case-sensitive."
        ),
    }

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.fields["username"].widget.attrs.update(
            {"autocomplete": "username", "autocapitalize": "none", "inputmode": "email"}
        )

    def clean_username(self) -> str:
        return str(self.cleaned_data["username"]).strip().lower()


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's form, except that a failed send reaches the view instead of only the log.

    Users who have no password yet (invited by e-mail) may ask for a link too, so a
    lost or expired welcome e-mail is not a dead end; deactivated users still may not.
    """

    def get_users(self, email: str) -> Iterator[User]:
        yield from User.objects.filter(email__iexact=email.strip(), is_active=True)

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        message = EmailMultiAlternatives(subject, body, from_email, [to_email])
        if html_email_template_name is not None:
            html = loader.render_to_string(html_email_template_name, context)
            message.attach_alternative(html, "text/html")
        message.send()
