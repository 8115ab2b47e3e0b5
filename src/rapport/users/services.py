"""The only write path for users, teams and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from rapport.core.permissions import Action, Role, authorise
from rapport.core.services import attribute_change, create_record, save_changes
from rapport.users.forms import PasswordResetForm
from rapport.users.models import ApiToken, Team, User

TOKEN_PREFIX = "rapport"  # noqa: S105 - a public marker, not a secret
USER_FIELDS = {"email", "full_name", "role", "team", "is_active"}


# --- users -------------------------------------------------------------------


def create_user(
    *,
    actor: User | None,
    email: str,
    full_name: str,
    role: str,
    team: Team | None = None,
    password: str | None = None,
    request: HttpRequest | None = None,
) -> User:
    """Create a user. Without a password, they get an e-mail to choose one.

    ``actor=None`` is the command line (``rapport createadmin``), which may
    create the first admin.
    """
    authorise(actor, Action.ADD, User)
    email = _clean_email(email)
    _check_role(role)
    user = User(email=email, full_name=full_name.strip(), role=role, team=team)
    user.is_staff = role == Role.ADMIN
    if password:
        _check_password(password, user)
    if not password and not settings.EMAIL_CONFIGURED:
        raise ValidationError(
            {"password": "E-mail is not configured (EMAIL_URL), so set a password for them."}
        )
    with transaction.atomic():
        _refuse_duplicate_email(email)
        user.set_password(password or None)
        create_record(user, actor=actor, reason="Created")
        if not password:
            transaction.on_commit(lambda: send_password_setup(user, request=request))
    return user


def update_user(
    *, actor: User | None, user: User, changes: dict[str, Any], expected_version: int | None = None
) -> User:
    authorise(actor, Action.CHANGE, user)
    unknown = set(changes) - USER_FIELDS
    if unknown:
        raise ValidationError(f"Unknown user fields: {', '.join(sorted(unknown))}")
    if "email" in changes:
        changes["email"] = _clean_email(changes["email"])
    if "role" in changes:
        _check_role(changes["role"])
        changes["is_staff"] = changes["role"] == Role.ADMIN
    if "full_name" in changes:
        changes["full_name"] = str(changes["full_name"]).strip()
        if not changes["full_name"]:
            raise ValidationError({"full_name": "A name is required."})
    if actor is not None and user.pk == actor.pk and changes.get("is_active") is False:
        raise ValidationError({"is_active": "You cannot deactivate yourself."})
    with transaction.atomic():
        if "email" in changes and changes["email"] != user.email:
            _refuse_duplicate_email(changes["email"], exclude=user)
        leaves_admin = user.role == Role.ADMIN and (
            changes.get("role", Role.ADMIN) != Role.ADMIN or changes.get("is_active") is False
        )
        if leaves_admin and not _other_active_admins(user).exists():
            raise ValidationError({"role": "Rapport needs at least one active admin."})
        return save_changes(user, changes, actor=actor, expected_version=expected_version)


def update_profile(*, user: User, full_name: str, email: str) -> User:
    """A user changing their own name and e-mail (not their role)."""
    changes = {"full_name": full_name.strip(), "email": _clean_email(email)}
    if not changes["full_name"]:
        raise ValidationError({"full_name": "A name is required."})
    with transaction.atomic():
        if changes["email"] != user.email:
            _refuse_duplicate_email(changes["email"], exclude=user)
        return save_changes(user, changes, actor=user, reason="Profile changed")


def change_password(*, user: User, new_password: str) -> User:
    password_validation.validate_password(new_password, user)
    user.set_password(new_password)
    attribute_change(user, user, "Password changed")
    user.save(update_fields=["password"])
    # A new password ends any lock-out earned by guessing the old one.
    axes_reset(username=user.email)
    return user


def send_password_setup(user: User, *, request: HttpRequest | None = None) -> None:
    """E-mail a link to choose a password (the password-reset flow, worded for new users)."""
    form = PasswordResetForm({"email": user.email})
    if not form.is_valid():  # pragma: no cover - the address was validated on save
        raise ValidationError(form.errors.as_text())
    form.save(
        request=request,
        domain_override=_site_host(),
        use_https=settings.SITE_URL.startswith("https://"),
        subject_template_name="users/emails/welcome_subject.txt",
        email_template_name="users/emails/welcome.txt",
        extra_email_context={"site_url": settings.SITE_URL},
    )


def _check_password(password: str, user: User) -> None:
    """Django's validators, with their messages on the password field."""
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from None


def _site_host() -> str:
    return settings.SITE_URL.split("://", 1)[-1]


def _clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            {"email": f"{email or 'An empty value'} is not a valid e-mail address."}
        ) from None
    return email


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationError(
            {"role": f"Unknown role {role!r}; use one of {', '.join(Role.values)}."}
        )


def _refuse_duplicate_email(email: str, *, exclude: User | None = None) -> None:
    clash = User.objects.filter(email__iexact=email)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if clash.exists():
        raise ValidationError({"email": f"Another user already signs in with {email}."})


def _other_active_admins(user: User) -> Any:
    return User.objects.filter(role=Role.ADMIN, is_active=True).exclude(pk=user.pk)


# --- teams -------------------------------------------------------------------


def create_team(*, actor: User | None, name: str, description: str = "") -> Team:
    authorise(actor, Action.ADD, Team)
    name = _clean_team_name(name)
    with transaction.atomic():
        if Team.objects.filter(name__iexact=name).exists():
            raise ValidationError({"name": f"A team called {name} already exists."})
        return create_record(Team(name=name, description=description.strip()), actor=actor)


def update_team(
    *,
    actor: User | None,
    team: Team,
    name: str,
    description: str,
    expected_version: int | None = None,
) -> Team:
    authorise(actor, Action.CHANGE, team)
    name = _clean_team_name(name)
    with transaction.atomic():
        if Team.objects.filter(name__iexact=name).exclude(pk=team.pk).exists():
            raise ValidationError({"name": f"A team called {name} already exists."})
        return save_changes(
            team,
            {"name": name, "description": description.strip()},
            actor=actor,
            expected_version=expected_version,
        )


def delete_team(*, actor: User | None, team: Team) -> None:
    authorise(actor, Action.DELETE, team)
    with transaction.atomic():
        members = team.members.count()
        if members:
            raise ValidationError(
                f"{team.name} still has {members} member(s); move them to another team first."
            )
        attribute_change(team, actor, "Deleted")
        team.delete()


def _clean_team_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "A team name is required."})
    return name


# --- API tokens --------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown to the user once, never stored


def create_api_token(*, actor: User, name: str, expires_in_days: int | None = None) -> IssuedToken:
    authorise(actor, Action.ADD, ApiToken)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the token after what will use it."})
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise ValidationError({"expires_in_days": "Between 1 and 3650 days, or never."})
    prefix = secrets.token_hex(6)
    secret = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    token = ApiToken.objects.create(
        user=actor, name=name, prefix=prefix, digest=_digest(secret), expires_at=expires_at
    )
    return IssuedToken(token=token, secret=secret)


def revoke_api_token(*, actor: User, token: ApiToken) -> ApiToken:
    authorise(actor, Action.DELETE, token)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def authenticate_token(secret: str) -> ApiToken | None:
    """The usable token for this secret, or None. Marks it used (at most once a minute)."""
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    token = ApiToken.objects.select_related("user", "user__team").filter(prefix=parts[1]).first()
    if token is None or not hmac.compare_digest(token.digest, _digest(secret)):
        return None
    if not token.is_usable or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def _digest(secret: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (no brute force).
    return hashlib.sha256(secret.encode()).hexdigest()
