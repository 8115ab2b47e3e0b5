"""The public link of an invitation: signed, expiring, no login.

The token is the invitation's id signed with ``SECRET_KEY`` and the time it
was made (``TimestampSigner``); nobody can forge one for another invitation,
and it stops working ``link_valid_days`` after it was sent.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from rapport.satisfaction.models import SurveyInvitation

SALT = "rapport.satisfaction.invitation"


class LinkError(Exception):
    """The link is not (or no longer) usable; ``expired`` tells which."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def token_for(invitation: SurveyInvitation) -> str:
    return _signer().sign(str(invitation.pk))


def url_for(invitation: SurveyInvitation) -> str:
    """The absolute link put in the e-mail."""
    path = reverse("satisfaction:answer", args=[token_for(invitation)])
    return f"{getattr(settings, 'SITE_URL', '').rstrip('/')}{path}"


def invitation_for(token: str) -> SurveyInvitation:
    """The invitation a token stands for; ``LinkError`` when forged, unknown or expired."""
    signer = _signer()
    try:
        raw = signer.unsign(token)
    except signing.BadSignature:
        raise LinkError("This link is not valid.") from None
    invitation = (
        SurveyInvitation.objects.select_related("survey", "contact").filter(pk=int(raw)).first()
        if raw.isdigit()
        else None
    )
    if invitation is None or invitation.survey.deleted_at is not None:
        raise LinkError("This survey is no longer available.")
    days = invitation.survey.link_valid_days
    try:
        signer.unsign(token, max_age=timedelta(days=days))
    except signing.SignatureExpired:
        raise LinkError("This link has expired.", expired=True) from None
    return invitation
