"""The import pages as an admin uses them, and who may reach each page and endpoint."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rapport.core.permissions import Role
from rapport.customers.models import Contact
from rapport.dataio.models import ImportJob, SavedMapping
from rapport.users.models import User
from tests.dataio.helpers import csv_bytes, upload

pytestmark = pytest.mark.django_db

FILE = csv_bytes(
    [
        ["Given Name", "Family Name", "E-mail 1 - Value", "Shoe"],
        ["Ann", "Lee", "ann@example.com", "42"],
        ["Bob", "Ray", "not-mail", "43"],
    ]
)


def test_upload_map_dry_run_then_import(
    admin: User, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    web = client_for(admin)
    page = web.get("/data/")
    assert page.status_code == 200
    assert 'id="upload-form"' in page.content.decode()
    response = web.post(
        "/data/", {"entity": "contacts", "file": SimpleUploadedFile("google.csv", FILE)}
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/data/imports/{job.pk}/"
    detail = web.get(f"/data/imports/{job.pk}/").content.decode()
    assert "Given Name" in detail
    assert "ann@example.com" in detail
    assert '<option value="first_name" selected>' in detail
    mapped = web.post(
        f"/data/imports/{job.pk}/mapping/",
        {"col_0": "first_name", "col_1": "last_name", "col_2": "email", "col_3": "",
         "match_on": "email", "save_as": "Google"},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert mapped.status_code == 200
    assert 'id="mapping"' in mapped.content.decode()
    assert SavedMapping.objects.get(name="Google").columns == {
        "Given Name": "first_name", "Family Name": "last_name", "E-mail 1 - Value": "email",
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        web.post(f"/data/imports/{job.pk}/run/", {"dry_run": "1"})
    job.refresh_from_db()
    assert (job.status, job.created, job.invalid) == ("checked", 1, 1)
    assert not Contact.objects.exists()
    checked = web.get(f"/data/imports/{job.pk}/").content.decode()
    assert "Would create" in checked
    assert "Import now" in checked
    assert "not-mail" in checked or "is not a valid e-mail" in checked
    errors = web.get(f"/data/imports/{job.pk}/errors.csv")
    body = b"".join(errors.streaming_content).decode()
    assert "Bob,Ray,not-mail,43,3,E-mail 1 - Value:" in body
    with django_capture_on_commit_callbacks(execute=True):
        web.post(f"/data/imports/{job.pk}/run/", {"dry_run": "0"})
    job.refresh_from_db()
    assert (job.status, job.created, job.invalid) == ("done", 1, 1)
    assert Contact.objects.get().full_name == "Ann Lee"
    progress = web.get(f"/data/imports/{job.pk}/progress/", headers={"HX-Request": "true"})
    assert 'id="job-state"' in progress.content.decode()
    assert "Imported" in progress.content.decode()


def test_a_bad_mapping_shows_the_reason(admin: User, client_for: Any) -> None:
    job = upload(admin, FILE)
    response = client_for(admin).post(
        f"/data/imports/{job.pk}/mapping/",
        {"col_0": "email", "col_1": "", "col_2": "email", "col_3": "", "match_on": "email"},
    )
    assert response.status_code == 400
    assert "both fill" in response.content.decode()


def test_a_hostile_upload_shows_a_clear_error(admin: User, client_for: Any) -> None:
    response = client_for(admin).post(
        "/data/", {"entity": "contacts", "file": SimpleUploadedFile("x.csv", b"\x00\x01binary")}
    )
    assert response.status_code == 400
    assert "not a text file" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_saved_mapping_is_applied_with_htmx(admin: User, client_for: Any) -> None:
    from rapport.dataio import services

    saved = services.save_mapping(
        admin, name="G", entity="contacts", columns={"E-mail 1 - Value": "email"}, match_on="email"
    )
    job = upload(admin, FILE)
    response = client_for(admin).post(
        f"/data/imports/{job.pk}/apply-mapping/", {"mapping": saved.pk},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert response.status_code == 200
    job.refresh_from_db()
    assert job.columns == {"E-mail 1 - Value": "email"}


IMPORT_ROLES = [Role.MANAGER, Role.SALES, Role.SERVICE, Role.MARKETING, Role.READ_ONLY]


@pytest.mark.parametrize("role", IMPORT_ROLES)
def test_only_admins_reach_import_pages_and_endpoints(
    role: str, user_of_role: Any, admin: User, client_for: Any
) -> None:
    job = upload(admin, FILE)
    web = client_for(user_of_role(role))
    home = web.get("/data/")
    if role in (Role.MARKETING, Role.SALES, Role.MANAGER, Role.SERVICE):  # they export
        assert home.status_code == 200
        assert 'id="upload-form"' not in home.content.decode()
        assert 'id="jobs"' not in home.content.decode()
        assert 'id="exports"' in home.content.decode()
    else:
        assert home.status_code == 403
    upload_attempt = web.post("/data/", {"entity": "contacts", "file": io.BytesIO(FILE)})
    assert upload_attempt.status_code == 403
    for url in ("", "progress/", "errors.csv"):
        assert web.get(f"/data/imports/{job.pk}/{url}").status_code == 403
    for url, data in (
        ("mapping/", {"match_on": "email"}), ("apply-mapping/", {"mapping": 1}),
        ("run/", {"dry_run": "0"}),
    ):  # fmt: skip
        assert web.post(f"/data/imports/{job.pk}/{url}", data).status_code == 403
    job.refresh_from_db()
    assert job.status == "new"
    assert ImportJob.objects.count() == 1


def test_anonymous_users_are_sent_to_log_in(client: Any) -> None:
    assert client.get("/data/").status_code == 302
    assert client.get("/data/export/contacts.csv").status_code == 302


def test_job_list_query_count_does_not_grow(
    admin: User, client_for: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(3):
        upload(admin, FILE)
    web = client_for(admin)
    with django_assert_max_num_queries(12):
        assert web.get("/data/").status_code == 200
    for _ in range(10):
        upload(admin, FILE)
    with django_assert_max_num_queries(12):
        assert web.get("/data/").status_code == 200


def test_job_page_query_count_does_not_grow_with_errors(
    admin: User, client_for: Any, django_assert_max_num_queries: Any
) -> None:
    from tests.dataio.helpers import run

    small = run(admin, csv_bytes([["Email"], ["bad1"]]))
    big = run(admin, csv_bytes([["Email"], *[[f"bad{i}"] for i in range(50)]]))
    web = client_for(admin)
    for job in (small, big):
        with django_assert_max_num_queries(12):
            page = web.get(f"/data/imports/{job.pk}/")
        assert page.status_code == 200
        assert page.content.decode().count("is not a valid e-mail") == job.invalid
