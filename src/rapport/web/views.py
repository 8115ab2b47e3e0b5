from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from rapport.web.navigation import items_for


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Open the first section this user may work in."""
    items = items_for(request.user)
    return redirect(items[0].url if items else "settings:account")
