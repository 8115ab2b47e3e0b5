"""Rapport's own URLs plus a trivial JSON endpoint, served for the throughput figures.

The trivial endpoint goes through the same middleware as every other page
(sessions, authentication, CSP...) but does no work: the API figures are
compared with it in the same server and the same run. A second one answers
the same through Django REST framework as the API does (session or token
authentication, permission check, throttle, JSON renderer): the floor of any
API request, reported beside the issue's reference.

    RAPPORT_BENCH_SERVER=1 gunicorn --pythonpath bench benchsite:application
"""

from __future__ import annotations

import os

SERVING = bool(os.environ.get("RAPPORT_BENCH_SERVER"))
if SERVING:  # as the WSGI module: Django must be set up before the URLs import views
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()

from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import include, path  # noqa: E402
from rest_framework.decorators import api_view  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402


def ping(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@api_view(["GET"])
def api_ping(request: Request) -> Response:
    return Response({"ok": True})


urlpatterns = [
    path("bench/ping", ping, name="bench-ping"),
    path("bench/api-ping", api_ping, name="bench-api-ping"),
    path("", include("rapport.urls")),
]

if SERVING:
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    settings.ROOT_URLCONF = "benchsite"
    application = get_wsgi_application()
