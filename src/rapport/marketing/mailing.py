"""Campaign e-mails: sandboxed templates, personal fields, signed links and the headers.

Templates use the Django template language on a private engine that loads
nothing (no ``include``, ``extends``, ``load``, ``url``...) and sees only plain
values: the contact's personal fields and offers as dicts and strings, never a
model, so a template cannot reach the database or other records.
"""

from __future__ import annotations

import email.policy
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.template import Context, Engine, TemplateSyntaxError
from django.urls import reverse
from django.utils.html import escape

from rapport.customers.models import Contact

SALT = "rapport.marketing"
ALLOWED_TAGS = frozenset(
    {
        "if", "elif", "else", "endif", "for", "empty", "endfor", "with", "endwith",
        "firstof", "comment", "endcomment", "spaceless", "endspaceless", "now", "cycle",
    }
)  # fmt: skip
TAG = re.compile(r"{%-?\s*(\w+)")
HREF = re.compile(r"""href\s*=\s*(["'])(https?://[^"']+)\1""", re.IGNORECASE)
MAX_OFFERS = 3

_engine = Engine(loaders=[], libraries={}, autoescape=True, debug=False)
_text_engine = Engine(loaders=[], libraries={}, autoescape=False, debug=False)

# Shown in the editor: what a template may use.
FIELDS = (
    "contact.first_name", "contact.last_name", "contact.full_name", "contact.email",
    "contact.job_title", "contact.company", "offers (list of name, sku, price, currency, "
    "reason, explanation)", "unsubscribe_url",
)  # fmt: skip


def check_template(source: str, *, field: str) -> None:
    """Refuse a template that does not parse or uses a tag outside the allowed few."""
    for tag in TAG.findall(source):
        if tag not in ALLOWED_TAGS:
            raise ValidationError({field: [f"The tag {{% {tag} %}} is not allowed in campaigns."]})
    try:
        _engine.from_string(source)
    except TemplateSyntaxError as error:
        raise ValidationError({field: [f"The template does not work: {error}"]}) from None


def personal_fields(contact: Contact) -> dict[str, Any]:
    """What a template may say about the recipient: plain values, no model."""
    company = ""
    membership = contact.memberships.select_related("company").order_by("-is_primary", "id").first()
    if membership is not None:
        company = membership.company.name
    return {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "full_name": contact.full_name,
        "email": contact.email,
        "job_title": contact.job_title,
        "company": company,
    }


def offers_of(contact: Contact) -> list[dict[str, Any]]:
    from rapport.insights.models import NextBestOffer

    rows = (
        NextBestOffer.objects.filter(contact=contact, product__deleted_at__isnull=True)
        .select_related("product", "because")
        .order_by("rank")[:MAX_OFFERS]
    )
    return [
        {
            "name": row.product.name,
            "sku": row.product.sku,
            "price": str(row.product.unit_price),
            "currency": row.product.currency,
            "reason": row.get_reason_display(),
            "explanation": row.explanation,
        }
        for row in rows
    ]


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(
    *, subject: str, text_body: str, html_body: str, contact: Contact, message_id: int | None
) -> Rendered:
    """The e-mail for one recipient. ``message_id`` None: a preview or a test send."""
    context = {
        "contact": personal_fields(contact),
        "offers": offers_of(contact),
        "unsubscribe_url": unsubscribe_url(message_id),
    }
    subject_text = _text_engine.from_string(subject).render(Context(context))
    text = _text_engine.from_string(text_body).render(Context(context))
    html = _engine.from_string(html_body).render(Context(context)) if html_body.strip() else ""
    return Rendered(" ".join(subject_text.split()), text, html)


def absolute(path: str) -> str:
    return f"{getattr(settings, 'SITE_URL', '').rstrip('/')}{path}"


def token(message_id: int, purpose: str) -> str:
    return signing.dumps({"m": message_id, "p": purpose}, salt=SALT, compress=True)


def read_token(value: str, purpose: str) -> int | None:
    try:
        data = signing.loads(value, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("p") != purpose:
        return None
    message_id = data.get("m")
    return message_id if isinstance(message_id, int) else None


def unsubscribe_url(message_id: int | None) -> str:
    if message_id is None:
        return absolute(reverse("marketing:unsubscribe", args=["preview"]))
    return absolute(reverse("marketing:unsubscribe", args=[token(message_id, "unsubscribe")]))


def click_url(message_id: int, target: str) -> str:
    signed = signing.dumps({"m": message_id, "u": target}, salt=f"{SALT}.click", compress=True)
    return absolute(reverse("marketing:click", args=[signed]))


def read_click(value: str) -> tuple[int, str] | None:
    """The message and target of a signed link; None when it was not made by us."""
    try:
        data = signing.loads(value, salt=f"{SALT}.click")
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    message_id, target = data.get("m"), data.get("u")
    if not isinstance(message_id, int) or not isinstance(target, str):
        return None
    if urlsplit(target).scheme not in ("http", "https"):
        return None
    return message_id, target


def track_links(html: str, message_id: int) -> str:
    """Route every web link through a signed redirect so a click is recorded."""
    return HREF.sub(
        lambda match: f'href="{escape(click_url(message_id, _unescape(match.group(2))))}"', html
    )


def _unescape(url: str) -> str:
    return url.replace("&amp;", "&")


def footer_text(url: str) -> str:
    return f"\n\n--\nYou receive this because you agreed to hear from us. Unsubscribe: {url}\n"


def footer_html(url: str) -> str:
    return (
        "<hr><p><small>You receive this because you agreed to hear from us. "
        f'<a href="{escape(url)}">Unsubscribe</a></small></p>'
    )


class CampaignEmail(EmailMultiAlternatives):
    """Headers are never folded into RFC 2047 encoded words.

    The SMTP policy folds at 78 characters and encodes a longer unbreakable
    token, which turns the ``List-Unsubscribe`` URL into ``=?utf-8?q?...`` that
    mail programs cannot use; RFC 5322 allows lines up to 998 characters.
    """

    def message(self, *, policy: Any = email.policy.default) -> Any:
        return super().message(policy=policy.clone(max_line_length=998))


def build_email(
    rendered: Rendered, *, to: str, message_id: int | None, track_opens: bool = False
) -> CampaignEmail:
    """The message with footer, tracked links and RFC 8058 one-click unsubscribe headers."""
    unsubscribe = unsubscribe_url(message_id)
    text = rendered.text + footer_text(unsubscribe)
    mail = CampaignEmail(
        rendered.subject,
        text,
        settings.DEFAULT_FROM_EMAIL,
        [to],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    if rendered.html:
        html = rendered.html
        if message_id is not None:
            html = track_links(html, message_id)
        html += footer_html(unsubscribe)
        if track_opens and message_id is not None:
            pixel = absolute(reverse("marketing:open", args=[token(message_id, "open")]))
            html += f'<img src="{escape(pixel)}" width="1" height="1" alt="">'
        mail.attach_alternative(html, "text/html")
    return mail
