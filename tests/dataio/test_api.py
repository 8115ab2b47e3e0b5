"""Import jobs over the API: upload, map, run, poll; admins only."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rapport.core.permissions import Role
from rapport.customers.models import Contact
from rapport.users.models import User
from tests.dataio.helpers import csv_bytes, upload

pytestmark = pytest.mark.django_db

FILE = csv_bytes([["Email", "Who"], ["ann@example.com", "Ann Lee"], ["bad", "Bob"]])


def test_upload_run_and_poll(
    admin: User, api_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    api = api_for(admin)
    created = api.post(
        "/api/v1/imports",
        {"entity": "contacts", "file": SimpleUploadedFile("p.csv", FILE)},
        format="multipart",
    )
    assert created.status_code == 201
    job = created.json()
    assert (job["headers"], job["columns"], job["status"]) == (
        ["Email", "Who"],
        {"Email": "email"},
        "new",
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = api.post(
            f"/api/v1/imports/{job['id']}/run",
            {"dry_run": False, "columns": {"Email": "email", "Who": "full_name"}},
            format="json",
        )
    assert run.status_code == 202
    polled = api.get(f"/api/v1/imports/{job['id']}").json()
    assert (polled["status"], polled["created"], polled["invalid"], polled["percent"]) == (
        "done", 1, 1, 100,
    )  # fmt: skip
    assert polled["row_errors"][0]["row_number"] == 3
    assert Contact.objects.get().full_name == "Ann Lee"
    listed = api.get("/api/v1/imports").json()
    assert [item["id"] for item in listed["results"]] == [job["id"]]


def test_bad_files_and_mappings_are_400(admin: User, api_for: Any) -> None:
    api = api_for(admin)
    bad = api.post(
        "/api/v1/imports",
        {"entity": "contacts", "file": SimpleUploadedFile("x.csv", b"\x00\x01")},
        format="multipart",
    )
    assert bad.status_code == 400
    assert "not a text file" in str(bad.json())
    job = upload(admin, FILE)
    wrong = api.post(f"/api/v1/imports/{job.pk}/run", {"columns": {"Nope": "email"}}, format="json")
    assert wrong.status_code == 400


@pytest.mark.parametrize(
    "role", [Role.MANAGER, Role.SALES, Role.SERVICE, Role.MARKETING, Role.READ_ONLY]
)
def test_only_admins_use_the_import_api(
    role: str, user_of_role: Any, admin: User, api_for: Any
) -> None:
    job = upload(admin, FILE)
    api = api_for(user_of_role(role))
    assert api.get("/api/v1/imports").status_code == 403
    assert api.get(f"/api/v1/imports/{job.pk}").status_code == 403
    assert api.post(f"/api/v1/imports/{job.pk}/run", {}, format="json").status_code == 403
    upload_attempt = api.post(
        "/api/v1/imports",
        {"entity": "contacts", "file": SimpleUploadedFile("p.csv", FILE)},
        format="multipart",
    )
    assert upload_attempt.status_code == 403


def test_the_import_endpoints_are_in_the_openapi_schema(admin: User, client_for: Any) -> None:
    schema = client_for(admin).get("/api/v1/schema/", {"format": "json"}).json()
    assert "post" in schema["paths"]["/api/v1/imports"]
    assert "post" in schema["paths"]["/api/v1/imports/{id}/run"]
