from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from rapport.core.health import check_database, check_queue, worker_last_seen

HEALTH = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(choices=["ok", "failing"]),
        "database": serializers.CharField(help_text='"ok", or what is wrong and which setting'),
        "queue": serializers.CharField(help_text='"ok", or what is wrong and which setting'),
        "worker_last_seen_seconds": serializers.FloatField(allow_null=True),
    },
)


class HealthView(APIView):
    """Is this Rapport able to serve? For load balancers and monitoring; no login needed."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type] = []

    @extend_schema(
        responses={
            200: OpenApiResponse(HEALTH, description="Database and queue answer."),
            503: OpenApiResponse(
                HEALTH, description="The database or the queue does not answer; see which."
            ),
        }
    )
    def get(self, request: Request) -> Response:
        checks = [check_database(), check_queue()]
        healthy = all(check.ok for check in checks)
        seen = worker_last_seen()
        body = {
            "status": "ok" if healthy else "failing",
            **{check.name: "ok" if check.ok else check.detail for check in checks},
            "worker_last_seen_seconds": None if seen is None else round(seen, 1),
        }
        return Response(body, status=200 if healthy else 503, headers={"Cache-Control": "no-store"})
