"""The duplicates review queue: list, side-by-side comparison, dismiss, merge, undo."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from rapport.core.pagination import paginate
from rapport.core.permissions import Role, role_of
from rapport.customers.models import Company, Contact
from rapport.dataio import duplicates, merge
from rapport.dataio.models import DuplicateKind, DuplicatePair, MergeRecord, PairStatus
from rapport.users.models import User, signed_in

SCANNERS = {Role.ADMIN, Role.MANAGER}


def _reviewer(request: HttpRequest) -> User:
    user = signed_in(request)
    if not duplicates.may_review(user):
        raise PermissionDenied("Admins, managers and sales review duplicates.")
    return user


def _kind(value: str | None) -> str:
    return value if value in DuplicateKind.values else DuplicateKind.CONTACT


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    user = _reviewer(request)
    kind = _kind(request.GET.get("kind"))
    status = request.GET.get("status", PairStatus.OPEN)
    if status not in PairStatus.values:
        status = PairStatus.OPEN
    try:
        page = paginate(
            duplicates.pairs(user, kind, status),
            ordering=["-score", "id"],
            cursor=request.GET.get("cursor"),
            limit=50,
        )
    except ValidationError:
        raise Http404("This page of the queue no longer exists.") from None
    merges = list(
        MergeRecord.objects.filter(kind=kind, undone_at__isnull=True)
        .select_related(f"survivor_{kind}", f"loser_{kind}", "merged_by")
        .order_by("-merged_at", "-id")[:10]
    )
    return render(
        request,
        "dataio/duplicates/queue.html",
        {
            "kind": kind,
            "status": status,
            "kinds": DuplicateKind.choices,
            "statuses": PairStatus.choices,
            "page": page,
            "merges": [m for m in merges if merge.may_undo(user, m)],
            "may_scan": role_of(user) in SCANNERS,
        },
    )


@login_required
@require_POST
def scan(request: HttpRequest) -> HttpResponse:
    user = _reviewer(request)
    if role_of(user) not in SCANNERS:
        raise PermissionDenied("Admins and managers start a scan.")
    kind = _kind(request.POST.get("kind"))
    duplicates.queue_scan(kind)
    messages.success(request, "The scan is running; the queue fills when it is done.")
    return redirect(f"{reverse('dataio:duplicates')}?kind={kind}")


@dataclass(frozen=True)
class Row:
    name: str
    label: str
    first: Any
    second: Any
    default: str  # "a" or "b"


def _pair(user: User, pk: int) -> DuplicatePair:
    for kind in DuplicateKind.values:
        found = duplicates.pairs(user, kind, None).filter(pk=pk).first()
        if found is not None:
            return found
    raise Http404("No such pair, or not one you may review.")


def _rows(pair: DuplicatePair) -> list[Row]:
    """Every field on which the two differ, with the default pick (A's unless empty)."""
    first, second = pair.first, pair.second
    by_name: dict[str, Row] = {}
    for choice in merge.field_choices(first, second):
        default = "b" if choice.default == merge.LOSER else "a"
        by_name[choice.name] = Row(
            choice.name, choice.label, choice.survivor_value, choice.loser_value, default
        )
    for choice in merge.field_choices(second, first):
        if choice.name not in by_name:
            by_name[choice.name] = Row(
                choice.name, choice.label, choice.loser_value, choice.survivor_value, "a"
            )
    return list(by_name.values())


@login_required
def compare(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reviewer(request)
    pair = _pair(user, pk)
    errors: list[str] = []
    if request.method == "POST":
        if pair.status != PairStatus.OPEN:
            errors.append(f"This pair is already {pair.get_status_display().lower()}.")
        else:
            keep = request.POST.get("keep", "a")
            survivor, loser = (
                (pair.first, pair.second) if keep != "b" else (pair.second, pair.first)
            )
            loser_side = "b" if keep != "b" else "a"
            asked = {c.name for c in merge.field_choices(survivor, loser)}
            choose = {
                name: merge.LOSER
                if request.POST.get(f"pick_{name}") == loser_side
                else merge.SURVIVOR
                for name in asked
                if request.POST.get(f"pick_{name}") in ("a", "b")
            }
            try:
                record = merge.merge(user, survivor, loser, choose=choose, pair=pair)
            except ValidationError as error:
                errors.extend(error.messages)
            else:
                messages.success(
                    request, f"Merged {loser} into {survivor}. You can undo this from the queue."
                )
                return redirect(_url_of(record.survivor))
    latest = pair.merges.filter(undone_at__isnull=True).select_related("merged_by").first()
    return render(
        request,
        "dataio/duplicates/compare.html",
        {
            "pair": pair,
            "rows": _rows(pair),
            "errors": errors,
            "merge_record": latest if latest and merge.may_undo(user, latest) else None,
        },
        status=400 if errors else 200,
    )


@login_required
@require_POST
def dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reviewer(request)
    pair = _pair(user, pk)
    try:
        duplicates.dismiss(user, pair)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{pair.first} and {pair.second}: not a duplicate.")
    return redirect(f"{reverse('dataio:duplicates')}?kind={pair.kind}")


@login_required
@require_POST
def undo(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reviewer(request)
    record = get_object_or_404(MergeRecord, pk=pk)
    if not merge.may_undo(user, record):
        raise Http404("No such merge, or not one you may undo.")
    try:
        merge.undo_merge(user, record)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Merge undone: {record.loser} is back.")
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)
    return redirect(f"{reverse('dataio:duplicates')}?kind={record.kind}")


def _url_of(record: Contact | Company) -> str:
    name = "customers:contact" if isinstance(record, Contact) else "customers:company"
    return reverse(name, args=[record.pk])


# --- API: /api/v1/duplicates ---------------------------------------------------------


class ReviewerPermission(BasePermission):
    """Admins, managers and sales; which pairs each sees is up to ``duplicates.pairs``."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_authenticated) and duplicates.may_review(
            request.user
        )


class PairSerializer(serializers.ModelSerializer[DuplicatePair]):
    first = serializers.SerializerMethodField()
    second = serializers.SerializerMethodField()

    class Meta:
        model = DuplicatePair
        fields = ("id", "kind", "first", "second", "score", "reasons", "status", "found_at",
                  "decided_at")  # fmt: skip

    def get_first(self, pair: DuplicatePair) -> dict[str, Any]:
        return {"id": pair.first.pk, "name": str(pair.first)}

    def get_second(self, pair: DuplicatePair) -> dict[str, Any]:
        return {"id": pair.second.pk, "name": str(pair.second)}


class MergeSerializer(serializers.Serializer[Any]):
    keep = serializers.ChoiceField(choices=["a", "b"], default="a",
                                   help_text="which record of the pair survives")  # fmt: skip
    choose = serializers.DictField(
        child=serializers.ChoiceField(choices=["a", "b"]),
        required=False,
        help_text='per field, whose value survives, e.g. {"last_name": "b"}',
    )


class MergeRecordSerializer(serializers.ModelSerializer[MergeRecord]):
    survivor = serializers.SerializerMethodField()
    loser = serializers.SerializerMethodField()

    class Meta:
        model = MergeRecord
        fields = ("id", "kind", "survivor", "loser", "merged_at", "undone_at")

    def get_survivor(self, record: MergeRecord) -> int:
        return int(record.survivor.pk)

    def get_loser(self, record: MergeRecord) -> int:
        return int(record.loser.pk)


class DuplicatePairViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[DuplicatePair]
):
    """The duplicates review queue: ``?kind=contact|company&status=open|merged|dismissed``."""

    permission_classes = (ReviewerPermission,)
    serializer_class = PairSerializer
    ordering_fields = ("score", "id")
    default_ordering = ("-score",)

    def get_queryset(self) -> Any:
        params = self.request.query_params
        kind = _kind(params.get("kind"))
        status_filter = params.get("status", PairStatus.OPEN)
        if self.action != "list":  # a pair by id, whatever its kind and status
            return duplicates.pairs(
                self.request.user, DuplicateKind.CONTACT, None
            ) | duplicates.pairs(self.request.user, DuplicateKind.COMPANY, None)
        if status_filter not in PairStatus.values:
            raise serializers.ValidationError(
                {"status": [f"Use one of {', '.join(PairStatus.values)}."]}
            )
        return duplicates.pairs(self.request.user, kind, status_filter)

    @extend_schema(request=None, responses={200: PairSerializer})
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str | None = None) -> Response:
        """Not a duplicate: the pair leaves the queue for good."""
        pair = duplicates.dismiss(signed_in(request), self.get_object())
        return Response(PairSerializer(pair).data)

    @extend_schema(request=MergeSerializer, responses={201: MergeRecordSerializer})
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: str | None = None) -> Response:
        """Merge the pair; ``choose`` picks per field whose value survives."""
        pair = self.get_object()
        body = MergeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if pair.status != PairStatus.OPEN:
            raise serializers.ValidationError(
                {"status": [f"This pair is already {pair.get_status_display().lower()}."]}
            )
        keep = body.validated_data["keep"]
        survivor, loser = (pair.first, pair.second) if keep == "a" else (pair.second, pair.first)
        loser_side = "b" if keep == "a" else "a"
        choose = {
            name: merge.LOSER if side == loser_side else merge.SURVIVOR
            for name, side in body.validated_data.get("choose", {}).items()
        }
        record = merge.merge(signed_in(request), survivor, loser, choose=choose, pair=pair)
        return Response(MergeRecordSerializer(record).data, status=status.HTTP_201_CREATED)
