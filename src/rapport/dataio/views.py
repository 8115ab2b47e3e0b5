"""Import and export pages: upload, map columns (htmx), dry run, progress, errors, exports."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from rapport.core import audit
from rapport.core.htmx import render_page_or_partial
from rapport.core.pagination import paginate
from rapport.core.permissions import Action, can, require
from rapport.customers.models import Contact, ContactEmail
from rapport.dataio import (
    duplicates,
    exports,
    gdpr,
    queries,
    services,
)
from rapport.dataio.choices import ACTIVE_STATUSES, Entity
from rapport.dataio.forms import MappingForm, UploadForm
from rapport.dataio.models import ErasureRecord, ExportFormat, ExportJob, ImportJob, RetentionRule
from rapport.users.models import signed_in

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "vcf": "text/vcard; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
EXPORT_JOBS_SHOWN = 10


def _may_use(user: Any) -> bool:
    return (
        can(user, Action.VIEW, ImportJob)
        or can(user, Action.VIEW, ExportJob)
        or bool(exports.exportable(user))
    )


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    if not _may_use(user):
        raise PermissionDenied("You may not import or export data.")
    may_import = can(user, Action.ADD, ImportJob)
    form = UploadForm()
    if request.method == "POST":
        require(user, Action.ADD, ImportJob)
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = services.start_import(
                    user, entity=form.cleaned_data["entity"], upload=upload, filename=upload.name
                )
            except ValidationError as error:
                for message in error.messages:
                    form.add_error("file", message)
            else:
                return redirect("dataio:job", job.pk)
    page = None
    if can(user, Action.VIEW, ImportJob):
        try:
            page = paginate(
                queries.jobs(user), ordering=["-created_at", "-id"],
                cursor=request.GET.get("cursor"), limit=25,
            )  # fmt: skip
        except ValidationError:
            page = paginate(
                queries.jobs(user), ordering=["-created_at", "-id"], cursor=None, limit=25
            )
    exportable = [(spec.key, spec.label) for spec in exports.exportable(user)]
    context = {
        "form": form,
        "may_import": may_import,
        "may_gdpr": can(user, Action.CHANGE, RetentionRule),
        "may_review_duplicates": duplicates.may_review(user),
        "rules": {rule.stage: rule.inactive_days for rule in RetentionRule.objects.all()}
        if can(user, Action.VIEW, RetentionRule)
        else {},
        "erasures": list(ErasureRecord.objects.select_related("erased_by")[:10])
        if can(user, Action.VIEW, ErasureRecord)
        else [],
        "page": page,
        "exportable": exportable,
        "may_export_all": can(user, Action.ADD, ExportJob),
        "export_formats": ExportFormat.choices,
        "export_jobs": list(queries.export_jobs(user)[:EXPORT_JOBS_SHOWN])
        if can(user, Action.VIEW, ExportJob)
        else [],
        "nav_current": "data",
    }
    return render(request, "dataio/home.html", context, status=400 if form.errors else 200)


def _job(request: HttpRequest, pk: int, action: Action = Action.VIEW) -> ImportJob:
    user = signed_in(request)
    require(user, Action.VIEW, ImportJob)
    return get_object_or_404(queries.jobs(user, action), pk=pk)


def _job_context(
    request: HttpRequest, job: ImportJob, form: MappingForm | None = None
) -> dict[str, Any]:
    user = signed_in(request)
    form = form or MappingForm(job)
    preview = services.preview(job) if job.status != "done" else []
    samples = [[row[i] for row in preview if row[i]] for i in range(len(job.headers))]
    return {
        "job": job,
        "form": form,
        "columns": list(zip(form.column_fields(), samples, strict=True)),
        "saved": queries.mappings(user, job.entity),
        "errors": queries.row_errors(job),
        "active": job.status in ACTIVE_STATUSES,
        "nav_current": "data",
    }


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    return render(request, "dataio/job.html", _job_context(request, job))


@login_required
def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    response = render(request, "dataio/job.html#status", _job_context(request, job))
    if job.status not in ACTIVE_STATUSES and request.GET.get("polling"):
        # The run ended: reload the page so the mapping and errors show their new state.
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def job_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk, Action.CHANGE)
    form = MappingForm(job, request.POST)
    status = 200
    if form.is_valid():
        try:
            services.set_mapping(
                signed_in(request), job, form.columns(),
                match_on=form.cleaned_data["match_on"], save_as=form.cleaned_data["save_as"],
            )  # fmt: skip
            messages.success(request, "Mapping saved.")
            form = MappingForm(job)
        except ValidationError as error:
            form.add_error(None, " ".join(error.messages))
            status = 400
    else:
        status = 400
    response = render_page_or_partial(
        request, "dataio/job.html", _job_context(request, job, form), partial="mapping"
    )
    # htmx swaps only successful responses: the form with its errors comes back as 200 there.
    if not getattr(request, "htmx", False):
        response.status_code = status
    return response


@login_required
@require_POST
def job_apply_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk, Action.CHANGE)
    user = signed_in(request)
    saved = get_object_or_404(queries.mappings(user, job.entity), pk=request.POST.get("mapping"))
    try:
        services.apply_saved_mapping(user, job, saved)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return render_page_or_partial(
        request, "dataio/job.html", _job_context(request, job), partial="mapping"
    )


@login_required
@require_POST
def job_run(request: HttpRequest, pk: int) -> HttpResponseBase:
    job = _job(request, pk, Action.CHANGE)
    dry_run = request.POST.get("dry_run") == "1"
    try:
        services.queue_import(signed_in(request), job, dry_run=dry_run)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("dataio:job", job.pk)


@login_required
def job_errors(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    job = _job(request, pk)
    response = StreamingHttpResponse(
        services.error_rows_csv(job), content_type="text/csv; charset=utf-8"
    )
    stem = job.filename.rsplit(".", 1)[0] or "import"
    response["Content-Disposition"] = f'attachment; filename="{stem}-errors.csv"'
    return response


@login_required
def export(request: HttpRequest, entity: str, fmt: str) -> HttpResponseBase:
    """The list of ``entity`` as the user may export it, filtered and sorted like the list page."""
    spec = exports.spec_for(entity)
    if spec is None or fmt not in exports.FORMATS:
        raise Http404("No such export.")
    if fmt == "vcf" and entity != Entity.CONTACTS:
        raise Http404("Only contacts export as vCard.")
    user = signed_in(request)
    require(user, Action.EXPORT, spec.model)
    try:
        rows = exports.rows(user, entity, request.GET, request)
    except ValidationError:
        messages.error(request, "Fix the filters before exporting.")
        return redirect(spec.list_url or "dataio:home")
    stamp = timezone.localdate().isoformat()
    filename = f"{entity}-{stamp}.{fmt}"
    response: HttpResponseBase
    if fmt == "xlsx":
        response = FileResponse(
            exports.xlsx_file(entity, rows), as_attachment=True, filename=filename,
            content_type=CONTENT_TYPES[fmt],
        )  # fmt: skip
        return response
    if fmt == "csv":
        body = exports.csv_lines(entity, rows)
    elif fmt == "json":
        body = exports.json_lines(entity, rows)
    else:
        body = exports.vcard_lines(rows)
    response = StreamingHttpResponse(body, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- "Export everything" ----------------------------------------------------------------


@login_required
@require_POST
def export_all(request: HttpRequest) -> HttpResponseBase:
    user = signed_in(request)
    require(user, Action.ADD, ExportJob)
    try:
        job = services.start_export(user, file_type=request.POST.get("file_type", ExportFormat.CSV))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("dataio:home")
    return redirect("dataio:export-job", job.pk)


def _export_job(request: HttpRequest, pk: int) -> ExportJob:
    user = signed_in(request)
    require(user, Action.VIEW, ExportJob)
    return get_object_or_404(queries.export_jobs(user), pk=pk)


def _export_job_context(job: ExportJob) -> dict[str, Any]:
    return {
        "job": job,
        "active": job.active,
        "available": services.export_path(job) is not None,
        "keep_days": services.keep_days(),
        "nav_current": "data",
    }


@login_required
def export_job(request: HttpRequest, pk: int) -> HttpResponse:
    job = _export_job(request, pk)
    context = _export_job_context(job)
    context["history"] = audit.entries(job.history.all(), what="Export", limit=20)
    return render(request, "dataio/export_job.html", context)


@login_required
def export_job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    job = _export_job(request, pk)
    return render(request, "dataio/export_job.html#status", _export_job_context(job))


@login_required
def export_job_download(request: HttpRequest, pk: int) -> FileResponse:
    job = _export_job(request, pk)
    path = services.export_path(job)
    if path is None:
        raise Http404("This export is not ready, failed, or has expired.")
    stamp = timezone.localtime(job.finished_at or job.created_at).strftime("%Y-%m-%d-%H%M")
    response = FileResponse(
        path.open("rb"), as_attachment=True, filename=f"rapport-export-{stamp}.zip",
        content_type="application/zip",
    )  # fmt: skip
    response["Cache-Control"] = "private, no-store"
    return response


# --- GDPR -------------------------------------------------------------------------------


def _admin_contact(request: HttpRequest, pk: int) -> Contact:
    user = signed_in(request)
    require(user, Action.VIEW, ErasureRecord)
    return get_object_or_404(Contact._base_manager.all(), pk=pk)


@login_required
def person_find(request: HttpRequest) -> HttpResponseBase:
    """Find the person of a request by e-mail address or contact number."""
    require(signed_in(request), Action.VIEW, ErasureRecord)
    text = request.GET.get("q", "").strip()
    contact = None
    if text.isdigit():
        contact = Contact._base_manager.filter(pk=int(text)).first()
    elif text:
        email = ContactEmail.objects.filter(email=text.lower()).select_related("contact").first()
        contact = email.contact if email is not None else None
    if contact is None:
        messages.error(request, f"No contact with the e-mail or number {text!r}.")
        return redirect("dataio:home")
    return redirect("dataio:person", contact.pk)


@login_required
def person(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _admin_contact(request, pk)
    data = gdpr.subject_access(signed_in(request), contact)
    context = {"contact": contact, "data": data, "nav_current": "data"}
    return render(request, "dataio/person.html", context)


@login_required
def person_json(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _admin_contact(request, pk)
    data = gdpr.subject_access(signed_in(request), contact)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2, cls=DjangoJSONEncoder),
        content_type="application/json",
    )
    response["Content-Disposition"] = f'attachment; filename="subject-access-{contact.pk}.json"'
    return response


@login_required
@require_POST
def person_erase(request: HttpRequest, pk: int) -> HttpResponseBase:
    contact = _admin_contact(request, pk)
    if request.POST.get("confirm", "").strip() != str(contact.pk):
        messages.error(request, f"Type the contact number {contact.pk} to confirm the erasure.")
        return redirect("dataio:person", contact.pk)
    try:
        gdpr.erase_contact(signed_in(request), contact, reason=request.POST.get("reason", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("dataio:person", contact.pk)
    messages.success(request, f"The personal data of contact {pk} is erased.")
    return redirect("dataio:home")


@login_required
@require_POST
def retention(request: HttpRequest) -> HttpResponseBase:
    user = signed_in(request)
    require(user, Action.CHANGE, RetentionRule)
    raw = request.POST.get("inactive_days", "").strip()
    try:
        days = int(raw) if raw else None
    except ValueError:
        messages.error(request, f"{raw!r} is not a number of days.")
        return redirect("dataio:home")
    try:
        gdpr.set_retention(user, stage=request.POST.get("stage", ""), inactive_days=days)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Retention rule saved.")
    return redirect("dataio:home")
