"""'Export everything': the ZIP, who may start and fetch it, progress, expiry, failures, API."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.core.permissions import Role
from rapport.dataio import exports, services
from rapport.dataio.models import ExportJob, ExportStatus
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.customers.factories import make_company, make_contact
from tests.factories import user_with_role
from tests.sales.factories import make_deal
from tests.service.factories import make_ticket
from tests.trading.factories import make_order

pytestmark = pytest.mark.django_db

EVIL = '=HYPERLINK("http://evil.example")'


@pytest.fixture(autouse=True)
def export_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATAIO_EXPORT_DIR = str(tmp_path / "exports")
    settings.DATAIO_EXPORT_KEEP_DAYS = 7
    return tmp_path / "exports"


@pytest.fixture
def world(admin: User, sales: User) -> None:
    contact = make_contact(admin, first_name=EVIL, owner=sales, emails=["eve@example.com"])
    company = make_company(admin, name="Acme")
    product = make_product(admin, sku="BOILER", name="Boiler")
    make_order(admin, contact=contact, lines=[(product, 2)], notes=EVIL)
    make_order(admin, company=company, lines=[(product, 1)])
    make_deal(admin, name="Replacement", contact=contact, owner=sales)
    make_ticket(admin, subject="Noise", contact=contact)


def body(response: Any) -> bytes:
    if hasattr(response, "streaming_content"):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def run_export(user: User, capture: Any, *, file_type: str = "csv") -> ExportJob:
    """Start the job as the page does; the worker (Huey, immediate in tests) runs it on commit."""
    with capture(execute=True):
        job = services.start_export(user, file_type=file_type)
    job.refresh_from_db()
    return job


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_zip_holds_every_list_exactly_as_its_own_export(
    admin: User, world: None, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    job = run_export(admin, django_capture_on_commit_callbacks)
    assert job.status == ExportStatus.DONE, job.error
    web = client_for(admin)
    response = web.get(f"/data/exports/{job.pk}/download/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    files = members(body(response))
    assert set(files) == {f"{key}.csv" for key in exports.SPECS}
    for key in exports.SPECS:
        assert files[f"{key}.csv"] == body(web.get(f"/data/export/{key}.csv")), key
    assert job.written_rows == job.total_rows
    assert {entry["key"]: entry["rows"] for entry in job.entities}["orders"] == 2
    [contact] = csv.DictReader(io.StringIO(files["contacts.csv"].decode("utf-8-sig")))
    assert contact["First name"] == "'" + EVIL  # defused, like the list
    assert job.expires_at is not None
    assert job.expires_at - job.finished_at == timedelta(days=7)  # type: ignore[operator]


def test_json_zip_and_only_what_the_requester_may_export(
    manager: User, world: None, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    job = run_export(manager, django_capture_on_commit_callbacks, file_type="json")
    assert job.status == ExportStatus.DONE, job.error
    files = members(body(client_for(manager).get(f"/data/exports/{job.pk}/download/")))
    orders = json.loads(files["orders.json"])
    assert sorted(order["Total"] for order in orders) == ["100.00", "200.00"]
    assert json.loads(files["orders.json"]) == json.loads(
        body(client_for(manager).get("/data/export/orders.json"))
    )


def test_the_zip_holds_what_the_requester_may_export_when_it_runs(
    manager: User, admin: User, sales_south: User, world: None, client_for: Any
) -> None:
    make_contact(admin, first_name="Southern", owner=sales_south)
    job = services.start_export(manager)  # queued; the worker has not run yet
    manager.role = Role.SALES  # moved to sales (team North) meanwhile
    manager.save(update_fields=["role"])
    job = ExportJob.objects.select_related("requested_by").get(pk=job.pk)
    services.run_export(job)
    assert job.status == ExportStatus.DONE, job.error
    files = members(body(client_for(admin).get(f"/data/exports/{job.pk}/download/")))
    # Sales export no tickets, tasks or timeline entries, and only their team's contacts.
    assert {"tickets.csv", "tasks.csv", "interactions.csv"}.isdisjoint(files)
    assert {"contacts.csv", "deals.csv", "orders.csv"} <= set(files)
    assert "Southern" not in files["contacts.csv"].decode("utf-8-sig")
    assert files["contacts.csv"] == body(client_for(manager).get("/data/export/contacts.csv"))


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.ADMIN, 302), (Role.MANAGER, 302), (Role.SALES, 403), (Role.SERVICE, 403),
     (Role.MARKETING, 403), (Role.READ_ONLY, 403)],
)  # fmt: skip
def test_who_may_start_export_everything(
    role: str, status: int, user_of_role: Any, client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    user = user_of_role(role)
    web = client_for(user)
    home = web.get("/data/")
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post("/data/exports/", {"file_type": "csv"})
    assert response.status_code == status
    if status == 302:
        job = ExportJob.objects.get(requested_by=user)
        assert response["Location"] == f"/data/exports/{job.pk}/"
        assert "Export everything" in home.content.decode()
        page = web.get(response["Location"]).content.decode()
        assert f"/data/exports/{job.pk}/download/" in page
    else:
        assert not ExportJob.objects.exists()
        assert home.status_code == 403 or "export-all-form" not in home.content.decode()


def test_only_the_requester_and_admins_download(
    admin: User, manager: User, client_for: Any, user_of_role: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    job = run_export(manager, django_capture_on_commit_callbacks)
    url = f"/data/exports/{job.pk}/download/"
    other_manager = user_with_role(Role.MANAGER, email="other.manager@example.com")
    assert client_for(manager).get(url).status_code == 200
    assert client_for(admin).get(url).status_code == 200
    assert client_for(other_manager).get(url).status_code == 404
    assert client_for(other_manager).get(f"/data/exports/{job.pk}/").status_code == 404
    for role in (Role.SALES, Role.SERVICE, Role.MARKETING, Role.READ_ONLY):
        assert client_for(user_of_role(role)).get(url).status_code == 403, role
    assert client_for(admin).get(url).status_code == 200


def test_progress_is_polled_while_the_job_waits(admin: User, client_for: Any, world: None) -> None:
    job = services.start_export(admin)  # not committed: the worker has not run
    web = client_for(admin)
    page = web.get(f"/data/exports/{job.pk}/").content.decode()
    assert f'hx-get="/data/exports/{job.pk}/progress/"' in page
    assert "/download/" not in page
    progress = web.get(f"/data/exports/{job.pk}/progress/", HTTP_HX_REQUEST="true")
    assert progress.status_code == 200
    assert "Queued" in progress.content.decode()
    services.run_export(job)
    done = web.get(f"/data/exports/{job.pk}/progress/", HTTP_HX_REQUEST="true").content.decode()
    assert "hx-get" not in done  # polling stops
    assert f"/data/exports/{job.pk}/download/" in done


def test_a_second_export_waits_for_the_first(admin: User) -> None:
    services.start_export(admin)
    with pytest.raises(ValidationError, match="still being written"):
        services.start_export(admin)


def test_expired_files_are_deleted_and_no_longer_offered(
    admin: User, client_for: Any, export_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    make_contact(admin, first_name="Kept")
    job = run_export(admin, django_capture_on_commit_callbacks)
    path = services.export_path(job)
    assert path is not None
    assert path.is_file()
    leftover = export_dir / "rapport-export-0-crashed.zip.partial"
    leftover.write_bytes(b"half")
    assert services.expire_exports(now=timezone.now() + timedelta(days=6)) == 0
    assert path.is_file()
    assert services.expire_exports(now=timezone.now() + timedelta(days=8)) == 1
    assert not path.exists()
    job.refresh_from_db()
    assert job.status == ExportStatus.EXPIRED
    assert client_for(admin).get(f"/data/exports/{job.pk}/download/").status_code == 404
    assert "has expired" in client_for(admin).get(f"/data/exports/{job.pk}/").content.decode()
    assert leftover.exists()  # too recent to be a crashed run's: kept


def test_a_job_a_stopped_worker_left_running_fails_after_a_day(admin: User) -> None:
    job = services.start_export(admin)  # queued, never run
    services.expire_exports(now=timezone.now() + timedelta(hours=23))
    job.refresh_from_db()
    assert job.status == ExportStatus.QUEUED
    services.expire_exports(now=timezone.now() + timedelta(hours=25))
    job.refresh_from_db()
    assert job.status == ExportStatus.FAILED
    assert "interrupted" in job.error
    assert services.start_export(admin).status == ExportStatus.QUEUED  # a new one may run


def test_the_periodic_task_expires_files(
    admin: User, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from rapport.dataio import tasks

    settings.DATAIO_EXPORT_KEEP_DAYS = 0
    job = run_export(admin, django_capture_on_commit_callbacks)
    path = Path(settings.DATAIO_EXPORT_DIR) / job.file_name
    assert path.is_file()
    tasks.expire_exports.call_local()
    assert not path.exists()


def test_a_failure_is_shown_and_leaves_no_file(
    admin: User, world: None, client_for: Any, export_dir: Path,
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    real = exports.csv_lines

    def breaks_midway(entity: str, queryset: Any, **kwargs: Any) -> Iterator[str]:
        if entity == "orders":
            yield "\ufeffNumber\r\n"
            raise OSError("No space left on device")
        yield from real(entity, queryset, **kwargs)

    monkeypatch.setattr(exports, "csv_lines", breaks_midway)
    job = run_export(admin, django_capture_on_commit_callbacks)
    assert job.status == ExportStatus.FAILED
    assert job.error == "No space left on device"
    assert job.file_name == ""
    assert list(export_dir.iterdir()) == []  # neither the ZIP nor its temporary file
    web = client_for(admin)
    assert web.get(f"/data/exports/{job.pk}/download/").status_code == 404
    page = web.get(f"/data/exports/{job.pk}/").content.decode()
    assert "No space left on device" in page
    assert "/download/" not in page


def test_the_job_is_in_the_audit_history(
    admin: User, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    make_contact(admin, first_name="Audited")
    job = run_export(admin, django_capture_on_commit_callbacks)
    history = list(job.history.order_by("history_date", "history_id"))
    assert history[0].history_user == admin
    assert history[0].history_change_reason == "Export everything (CSV) requested"
    assert history[-1].status == ExportStatus.DONE
    assert history[-1].history_change_reason.startswith("Export everything written: ")
    page = client_for(admin).get(f"/data/exports/{job.pk}/").content.decode()
    assert "Export everything (CSV) requested" in page


def test_data_page_lists_exports_in_constant_queries(
    admin: User, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    web = client_for(admin)
    run_export(admin, django_capture_on_commit_callbacks)
    web.get("/data/")
    with CaptureQueriesContext(connection) as one:
        assert web.get("/data/").status_code == 200
    for _ in range(4):
        run_export(admin, django_capture_on_commit_callbacks)
    with CaptureQueriesContext(connection) as five:
        page = web.get("/data/").content.decode()
    assert page.count("/data/exports/") >= 5
    assert len(five) == len(one)


# --- API ---------------------------------------------------------------------------------


def test_api_starts_polls_and_downloads(
    admin: User, world: None, api_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    api = api_for(admin)
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post("/api/v1/exports", {"file_type": "json"}, format="json")
    assert started.status_code == 202, started.content
    polled = api.get(f"/api/v1/exports/{started.data['id']}")
    assert polled.status_code == 200
    assert polled.data["status"] == "done"
    assert polled.data["percent"] == 100
    assert polled.data["download_url"].endswith(f"/api/v1/exports/{started.data['id']}/download")
    download = api.get(f"/api/v1/exports/{started.data['id']}/download")
    assert download.status_code == 200
    assert "contacts.json" in members(body(download))
    assert [job["id"] for job in api.get("/api/v1/exports").data["results"]] == [started.data["id"]]


def test_api_refuses_others_and_bad_formats(
    admin: User, manager: User, sales: User, api_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    assert api_for(sales).post("/api/v1/exports", {}, format="json").status_code == 403
    assert (
        api_for(admin).post("/api/v1/exports", {"file_type": "pdf"}, format="json").status_code
        == 400
    )
    job = run_export(admin, django_capture_on_commit_callbacks)
    assert api_for(manager).get(f"/api/v1/exports/{job.pk}").status_code == 404
    assert api_for(manager).get(f"/api/v1/exports/{job.pk}/download").status_code == 404
    assert api_for(sales).get(f"/api/v1/exports/{job.pk}/download").status_code == 403
