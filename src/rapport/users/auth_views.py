"""Signing in and out, and resetting a forgotten password."""

from __future__ import annotations

import logging
import smtplib
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect

from rapport.core.mail import EmailNotConfiguredError, describe_send_failure
from rapport.users import services
from rapport.users.forms import LoginForm, PasswordResetForm
from rapport.users.models import User

logger = logging.getLogger(__name__)

ASK_AN_ADMIN = "Ask an administrator to reset your password."


class LoginView(auth_views.LoginView):
    authentication_form = LoginForm
    redirect_authenticated_user = True


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset flow, but a mail failure is a clear message, not a server error.

    Without e-mail configured the page says so before anyone types an address,
    and the answer is the same for known and unknown addresses.
    """

    form_class = PasswordResetForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["email_configured"] = settings.EMAIL_CONFIGURED
        context["email_not_configured"] = f"{EmailNotConfiguredError()} {ASK_AN_ADMIN}"
        return context

    def form_valid(self, form: Any) -> HttpResponse:
        if not settings.EMAIL_CONFIGURED:
            form.add_error(None, f"{EmailNotConfiguredError()} {ASK_AN_ADMIN}")
            return self.form_invalid(form)
        try:
            return super().form_valid(form)
        except (EmailNotConfiguredError, smtplib.SMTPException, OSError) as error:
            logger.warning("Password reset e-mail not sent: %s", error)
            form.add_error(None, f"{describe_send_failure(error)} {ASK_AN_ADMIN}")
            return self.form_invalid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's token checks; the new password is saved by ``services.change_password``."""

    post_reset_login = False

    def form_valid(self, form: Any) -> HttpResponse:
        user: User = self.user  # type: ignore[assignment]
        try:
            services.change_password(user=user, new_password=form.cleaned_data["new_password1"])
        except ValidationError as error:
            form.add_error("new_password2", error)
            return self.form_invalid(form)
        # The link is used up: forget the token Django kept in the session.
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        return HttpResponseRedirect(self.get_success_url())
