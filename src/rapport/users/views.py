"""Settings: your account and API tokens; for admins, users and teams."""

from __future__ import annotations

import smtplib
from collections.abc import Iterable
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from rapport.core.htmx import render_page_or_partial
from rapport.core.mail import EmailNotConfiguredError, describe_send_failure
from rapport.core.pagination import paginate
from rapport.core.permissions import Action, can, require
from rapport.core.services import ConflictError
from rapport.users import queries, services
from rapport.users.filtersets import UserFilterSet
from rapport.users.forms import (
    ApiTokenForm,
    NewUserForm,
    ProfileForm,
    TeamForm,
    UserForm,
    user_initial,
)
from rapport.users.models import Team, User

USERS_PER_PAGE = 50
HISTORY_ENTRIES = 20
HISTORY_SCANNED = 200  # audit rows read to find HISTORY_ENTRIES that changed something
# A new token's secret waits here between the POST that made it and the page that
# shows it, and is removed when shown: it is shown once, and reloading does not
# create another token.
ISSUED_TOKEN_SESSION_KEY = "rapport:issued-token"  # noqa: S105 - a key name, not a secret
SEND_FAILURES = (EmailNotConfiguredError, smtplib.SMTPException, OSError)


def apply_errors(form: Form, error: ValidationError | ConflictError) -> None:
    """Show a service's refusal on the form, next to the field it names."""
    if isinstance(error, ConflictError):
        form.add_error(None, str(error))
        return
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            target = field if field in form.fields else None
            for item in errors:
                for message in item.messages:
                    form.add_error(target, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


def settings_context(request: HttpRequest, tab: str, **context: Any) -> dict[str, Any]:
    return {
        "tab": tab,
        "can_manage_users": can(request.user, Action.CHANGE, User),
        "can_manage_teams": can(request.user, Action.CHANGE, Team),
        **context,
    }


# --- your account ------------------------------------------------------------


@login_required
def account(request: HttpRequest) -> HttpResponse:
    # The user itself, not request.user's lazy stand-in: services look at its model class.
    user = queries.users(request.user).get(pk=cast(int, request.user.pk))
    profile_form = ProfileForm(initial={"full_name": user.full_name, "email": user.email})
    password_form = PasswordChangeForm(user)
    if request.method == "POST" and "save_profile" in request.POST:
        profile_form = ProfileForm(request.POST)
        if profile_form.is_valid():
            try:
                services.update_profile(user=user, **profile_form.cleaned_data)
            except (ValidationError, ConflictError) as error:
                apply_errors(profile_form, error)
            else:
                messages.success(request, "Your profile is saved.")
                return redirect("settings:account")
    elif request.method == "POST" and "change_password" in request.POST:
        password_form = PasswordChangeForm(user, request.POST)
        if password_form.is_valid():
            try:
                services.change_password(
                    user=user, new_password=password_form.cleaned_data["new_password1"]
                )
            except ValidationError as error:
                apply_errors(password_form, error)
            else:
                # Other sessions of this user end; this one carries on.
                update_session_auth_hash(request, user)
                messages.success(request, "Your password is changed.")
                return redirect("settings:account")
    return render(
        request,
        "users/account.html",
        settings_context(
            request, "account", profile_form=profile_form, password_form=password_form
        ),
    )


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = ApiTokenForm()
    if request.method == "POST":
        form = ApiTokenForm(request.POST)
        if form.is_valid():
            try:
                issued = services.create_api_token(actor=user, **form.cleaned_data)
            except ValidationError as error:
                apply_errors(form, error)
            else:
                request.session[ISSUED_TOKEN_SESSION_KEY] = {
                    "id": issued.token.pk,
                    "secret": issued.secret,
                }
                return redirect("settings:tokens")
    own = queries.own_api_tokens(user)
    issued_now = request.session.pop(ISSUED_TOKEN_SESSION_KEY, None)
    new_token = None
    if issued_now is not None:
        new_token = own.filter(pk=issued_now["id"]).first()
    response = render(
        request,
        "users/tokens.html",
        settings_context(
            request,
            "tokens",
            form=form,
            new_token=new_token,
            new_secret=issued_now["secret"] if new_token is not None else None,
            tokens=own,
        ),
    )
    if new_token is not None:
        response["Cache-Control"] = "no-store"  # not from the back button either
    return response


@login_required
@require_POST
def revoke_token(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(queries.api_tokens(request.user, Action.DELETE), pk=token_id)
    services.revoke_api_token(actor=request.user, token=token)  # type: ignore[arg-type]
    messages.success(request, f"Token “{token.name}” is revoked; it no longer works.")
    return redirect("settings:tokens")


# --- users (admins) ----------------------------------------------------------


@login_required
def user_list(request: HttpRequest) -> HttpResponse:
    require(request.user, Action.CHANGE, User)
    filterset = UserFilterSet(request.GET, queryset=queries.users(request.user, Action.CHANGE))
    cursor = request.GET.get("cursor")
    try:
        page = paginate(filterset.qs, ordering=["full_name"], cursor=cursor, limit=USERS_PER_PAGE)
    except ValidationError:  # a cursor from an old link: start again at the top
        page = paginate(filterset.qs, ordering=["full_name"], cursor=None, limit=USERS_PER_PAGE)
    query = request.GET.copy()
    query.pop("cursor", None)
    context = settings_context(
        request, "users", filterset=filterset, page=page, query=query.urlencode()
    )
    return render_page_or_partial(request, "users/user_list.html", context, partial="results")


@login_required
def user_create(request: HttpRequest) -> HttpResponse:
    require(request.user, Action.ADD, User)
    form = NewUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.create_user(actor=request.user, request=request, **form.cleaned_data)  # type: ignore[arg-type]
        except ValidationError as error:
            apply_errors(form, error)
        except SEND_FAILURES as error:
            # The user exists (the welcome e-mail is sent after the save commits).
            messages.warning(
                request,
                f"{form.cleaned_data['full_name']} is added, but the e-mail to choose a "
                f"password was not sent: {describe_send_failure(error)} "
                "Send it again from their page once e-mail works.",
            )
            return redirect("settings:users")
        else:
            how = (
                "They can sign in with the password you set."
                if form.cleaned_data["password"]
                else f"They will get an e-mail at {user.email} to choose a password."
            )
            messages.success(request, f"{user.full_name} is added. {how}")
            return redirect("settings:users")
    return render(request, "users/user_form.html", settings_context(request, "users", form=form))


@login_required
def user_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    require(request.user, Action.CHANGE, User)
    subject = get_object_or_404(queries.users(request.user, Action.CHANGE), pk=user_id)
    form = UserForm(request.POST or None, initial=user_initial(subject))
    if request.method == "POST" and form.is_valid():
        changes = dict(form.cleaned_data)
        expected = changes.pop("version")
        try:
            services.update_user(
                actor=request.user,  # type: ignore[arg-type]
                user=subject,
                changes=changes,
                expected_version=expected,
            )
        except (ValidationError, ConflictError) as error:
            subject.refresh_from_db()  # the heading and history show what is saved
            apply_errors(form, error)
        else:
            messages.success(request, f"{subject.full_name} is saved.")
            if subject.pk == request.user.pk and not can(subject, Action.CHANGE, User):
                return redirect("settings:account")  # they are no longer an admin
            return redirect("settings:users")
    records = subject.history.select_related("history_user")
    history = records.order_by("-history_date", "-history_id")[:HISTORY_SCANNED]
    return render(
        request,
        "users/user_form.html",
        settings_context(
            request, "users", form=form, subject=subject, history=changes_of(User, history)
        ),
    )


@login_required
def user_send_password_link(request: HttpRequest, user_id: int) -> HttpResponse:
    require(request.user, Action.CHANGE, User)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    subject = get_object_or_404(queries.users(request.user, Action.CHANGE), pk=user_id)
    if not subject.is_active:
        messages.error(
            request, f"{subject.full_name} is deactivated; activate them first, then send a link."
        )
        return redirect("settings:user", user_id=subject.pk)
    try:
        services.send_password_setup(subject, request=request)
    except SEND_FAILURES as error:
        messages.error(request, describe_send_failure(error))
    else:
        messages.success(request, f"A link to choose a password was sent to {subject.email}.")
    return redirect("settings:user", user_id=subject.pk)


def changes_of(model: type[models.Model], history: Iterable[Any]) -> list[dict[str, Any]]:
    """Audit rows as 'who changed what from → to', newest first, in the users' words.

    Saves that changed nothing shown here (a sign-in stamping last_login) are
    left out; each row is compared with the one before it in ``history``.
    """
    rows = list(history)
    deltas = []
    for index, record in enumerate(rows):
        previous = rows[index + 1] if index + 1 < len(rows) else None
        changes = []
        if record.history_type == "~":
            if previous is None:
                continue  # cannot tell what this one changed
            changes = record.diff_against(previous).changes
            if not changes and not record.history_change_reason:
                continue
        deltas.append((record, changes))
        if len(deltas) == HISTORY_ENTRIES:
            break
    labels = _related_labels(model, [change for _, changes in deltas for change in changes])
    return [
        {
            "when": record.history_date,
            "who": record.history_user,
            "kind": {"+": "Created", "~": "Changed", "-": "Deleted"}[record.history_type],
            "reason": record.history_change_reason,
            "fields": [
                {
                    "field": _label(model, change.field),
                    "old": _shown(model, change.field, change.old, labels),
                    "new": _shown(model, change.field, change.new, labels),
                }
                for change in changes
            ],
        }
        for record, changes in deltas
    ]


def _field(model: type[models.Model], name: str) -> Any:
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _label(model: type[models.Model], name: str) -> str:
    field = _field(model, name)
    return str(getattr(field, "verbose_name", name)).capitalize()


def _related_labels(model: type[models.Model], changes: list[Any]) -> dict[tuple[str, Any], str]:
    """Names of the records that foreign keys in ``changes`` point at (one query per model)."""
    wanted: dict[str, set[Any]] = {}
    for change in changes:
        field = _field(model, change.field)
        if isinstance(field, models.ForeignKey):
            wanted.setdefault(change.field, set()).update(
                value for value in (change.old, change.new) if value is not None
            )
    labels = {}
    for name, ids in wanted.items():
        related = _field(model, name).related_model
        for record in related._default_manager.filter(pk__in=ids):
            labels[(name, record.pk)] = str(record)
    return labels


def _shown(model: type[models.Model], name: str, value: Any, labels: dict[Any, str]) -> str:
    if value is None or value == "":
        return "—"
    field = _field(model, name)
    if isinstance(field, models.ForeignKey):
        return labels.get((name, value), f"deleted ({value})")
    if isinstance(value, bool):
        return "yes" if value else "no"
    choices = dict(field.flatchoices) if field is not None and field.choices else {}
    return str(choices.get(value, value))


# --- teams (admins) ----------------------------------------------------------


@login_required
def team_list(request: HttpRequest) -> HttpResponse:
    require(request.user, Action.CHANGE, Team)
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.create_team(
                actor=request.user,  # type: ignore[arg-type]
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Team {team.name} is created.")
            return redirect("settings:teams")
    teams = queries.teams(request.user, Action.CHANGE)
    return render(
        request, "users/team_list.html", settings_context(request, "teams", form=form, teams=teams)
    )


@login_required
def team_edit(request: HttpRequest, team_id: int) -> HttpResponse:
    require(request.user, Action.CHANGE, Team)
    team = get_object_or_404(queries.teams(request.user, Action.CHANGE), pk=team_id)
    initial = {"name": team.name, "description": team.description, "version": team.version}
    if request.method == "POST" and "delete" in request.POST:
        try:
            services.delete_team(actor=request.user, team=team)  # type: ignore[arg-type]
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("settings:team", team_id=team.pk)
        messages.success(request, f"Team {team.name} is deleted.")
        return redirect("settings:teams")
    form = TeamForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_team(
                actor=request.user,  # type: ignore[arg-type]
                team=team,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                expected_version=form.cleaned_data["version"],
            )
        except (ValidationError, ConflictError) as error:
            team.refresh_from_db()
            apply_errors(form, error)
        else:
            messages.success(request, f"Team {team.name} is saved.")
            return redirect("settings:teams")
    members = queries.users(request.user).filter(team=team)
    return render(
        request,
        "users/team_form.html",
        settings_context(request, "teams", form=form, team=team, members=members),
    )
