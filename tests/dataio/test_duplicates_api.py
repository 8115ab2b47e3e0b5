"""/api/v1/duplicates: list, dismiss and merge, per role."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.core.permissions import Role
from rapport.customers import services as customer_services
from rapport.customers.models import Contact
from rapport.dataio.models import DuplicatePair, MergeRecord, PairStatus
from rapport.users.models import User
from tests.dataio.test_duplicates_web import pairs, twin_pair  # noqa: F401 - shared fixture

pytestmark = pytest.mark.django_db

API = "/api/v1/duplicates"


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        (Role.ADMIN, {"Salma", "Sonja", "Nora"}),
        (Role.MANAGER, {"Salma", "Sonja", "Nora"}),
        (Role.SALES, {"Salma", "Nora"}),
        (Role.SERVICE, None),
        (Role.MARKETING, None),
        (Role.READ_ONLY, None),
    ],
)
def test_list_dismiss_and_merge_follow_the_role(
    pairs: dict[str, DuplicatePair],  # noqa: F811 - the imported fixture
    user_of_role: Any,
    api_for: Any,
    role: str,
    visible: set[str] | None,
) -> None:
    api = api_for(user_of_role(role))
    response = api.get(API)
    hidden = pairs["south"]
    if visible is None:
        assert response.status_code == 403
        assert api.post(f"{API}/{hidden.pk}/dismiss").status_code == 403
        assert api.post(f"{API}/{hidden.pk}/merge", {}).status_code == 403
        return
    assert response.status_code == 200
    names = {row["first"]["name"].split()[0] for row in response.json()["results"]}
    assert names == visible
    if "Sonja" not in visible:
        assert api.post(f"{API}/{hidden.pk}/dismiss").status_code == 404
        assert api.post(f"{API}/{hidden.pk}/merge", {}).status_code == 404
        assert DuplicatePair.objects.get(pk=hidden.pk).status == PairStatus.OPEN


def test_dismiss_then_merge_is_refused_with_the_house_error(admin: User, api_for: Any) -> None:
    pair = twin_pair(admin, "Dana", None, "+4930100011")
    api = api_for(admin)

    dismissed = api.post(f"{API}/{pair.pk}/dismiss")
    assert dismissed.status_code == 200
    assert dismissed.json()["status"] == "dismissed"
    assert api.get(API).json()["results"] == []
    assert len(api.get(f"{API}?status=dismissed").json()["results"]) == 1

    refused = api.post(f"{API}/{pair.pk}/merge", {"keep": "a"}, format="json")
    assert refused.status_code == 400
    assert "status" in refused.json()["errors"]


def test_merge_with_picked_fields(admin: User, api_for: Any) -> None:
    pair = twin_pair(admin, "Mona", None, "+4930100012")
    customer_services.update_contact(admin, pair.second, {"job_title": "Chef"})
    api = api_for(admin)

    bad = api.post(f"{API}/{pair.pk}/merge", {"choose": {"first_name": "b"}}, format="json")
    assert bad.status_code == 400
    assert "first_name" in bad.json()["errors"]

    response = api.post(
        f"{API}/{pair.pk}/merge", {"keep": "a", "choose": {"job_title": "b"}}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["survivor"] == pair.contact_a_id
    assert Contact.objects.get(pk=response.json()["survivor"]).job_title == "Chef"
    assert MergeRecord.objects.count() == 1
    assert DuplicatePair.objects.get().status == PairStatus.MERGED


def test_an_unknown_status_is_a_400(admin: User, api_for: Any) -> None:
    response = api_for(admin).get(f"{API}?status=maybe")
    assert response.status_code == 400
    assert "status" in response.json()["errors"]
