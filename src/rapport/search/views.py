from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

from rapport.core.htmx import render_page_or_partial
from rapport.search.registry import MIN_QUERY_LENGTH, search


@login_required
def results(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "").strip()
    context = {
        "q": text,
        "results": search(request.user, text),
        "too_short": 0 < len(text) < MIN_QUERY_LENGTH,
    }
    return render_page_or_partial(request, "search/results.html", context, partial="dropdown")
