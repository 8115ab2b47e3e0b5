"""Pages reached from a campaign e-mail without signing in: the signed token is the key.

Unsubscribing accepts a POST without CSRF token (RFC 8058: mail programs post
``List-Unsubscribe=One-Click`` to the URL). Click links redirect only to the
target signed into them, so they cannot be used as an open redirect.
"""

from __future__ import annotations

import base64

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from rapport.marketing import mailing, services
from rapport.marketing.choices import UnsubscribeSource
from rapport.marketing.models import Message

PREVIEW = "preview"  # the unsubscribe link of previews and test sends
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _message(message_id: int | None) -> Message:
    if message_id is None:
        raise Http404("This link is not valid.")
    message = Message.objects.select_related("campaign", "contact").filter(pk=message_id).first()
    if message is None:
        raise Http404("This link is no longer valid.")
    return message


@csrf_exempt
@never_cache
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    if token == PREVIEW:
        return render(request, "marketing/unsubscribe.html", {"preview": True})
    message = _message(mailing.read_token(token, "unsubscribe"))
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        source = UnsubscribeSource.ONE_CLICK if one_click else UnsubscribeSource.FOOTER
        services.unsubscribe(message, source=source)
        if one_click:
            return HttpResponse("Unsubscribed.", content_type="text/plain")
        return render(request, "marketing/unsubscribe.html", {"done": True, "message": message})
    return render(
        request,
        "marketing/unsubscribe.html",
        {"message": message, "done": message.unsubscribed_at is not None},
    )


@never_cache
def click(request: HttpRequest, token: str) -> HttpResponse:
    found = mailing.read_click(token)
    if found is None:
        raise Http404("This link is not valid.")
    message_id, target = found
    message = Message.objects.select_related("campaign", "contact").filter(pk=message_id).first()
    if message is not None:
        services.record_click(message, target)
    return HttpResponseRedirect(target)


@never_cache
def opened(request: HttpRequest, token: str) -> HttpResponse:
    message_id = mailing.read_token(token, "open")
    rows = Message.objects.select_related("campaign", "contact")
    message = rows.filter(pk=message_id).first() if message_id is not None else None
    if message is not None:
        services.record_open(message)
    return HttpResponse(PIXEL, content_type="image/gif")
