"""Who sees and changes which deals, on every page and endpoint, for every role."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.core.permissions import Role
from rapport.sales import services
from rapport.sales.choices import StageKind
from rapport.sales.models import Deal
from rapport.users.models import User
from tests.customers.conftest import OWNERS
from tests.sales.conftest import Pipeline
from tests.sales.factories import stage

pytestmark = pytest.mark.django_db

ALL = set(OWNERS)
NORTH = {"sales", "north", "none"}
ROLES = list(Role.values)

# Written out by hand from sales/permissions.py: deals follow their owner.
VISIBLE: dict[str, set[str]] = {
    Role.ADMIN: ALL,
    Role.MANAGER: ALL,
    Role.SALES: NORTH,
    Role.SERVICE: ALL,
    Role.MARKETING: ALL,
    Role.READ_ONLY: ALL,
}
CHANGEABLE: dict[str, set[str]] = {
    Role.ADMIN: ALL,
    Role.MANAGER: ALL,
    Role.SALES: NORTH,
    Role.SERVICE: set(),
    Role.MARKETING: set(),
    Role.READ_ONLY: set(),
}
DELETABLE: dict[str, set[str]] = {
    Role.ADMIN: ALL,
    Role.MANAGER: ALL,
    Role.SALES: {"sales"},
    Role.SERVICE: set(),
    Role.MARKETING: set(),
    Role.READ_ONLY: set(),
}
MAY_ADD = {Role.ADMIN, Role.MANAGER, Role.SALES}
MAY_EXPORT = {Role.ADMIN, Role.MANAGER, Role.SALES, Role.MARKETING}


def _expected(key: str, allowed: set[str], visible: set[str]) -> int:
    if key in allowed:
        return 200
    return 403 if key in visible else 404


@pytest.mark.parametrize("role", ROLES)
def test_lists_board_search_and_api_show_what_the_role_may_see(
    pipeline: Pipeline, user_of_role: Any, client_for: Any, api_for: Any, role: str
) -> None:
    user = user_of_role(role)
    expected = {pipeline.deals[key].pk for key in VISIBLE[role]}
    response = api_for(user).get("/api/v1/deals?limit=100")
    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} == expected
    client = client_for(user)
    for url in ("/deals/", "/deals/board/", "/search/?q=deal"):
        text = client.get(url).content.decode()
        shown = {key for key in OWNERS if f"Deal {key}<" in text}
        assert shown == VISIBLE[role], url


@pytest.mark.parametrize("role", ROLES)
def test_detail_page_and_api_read(
    pipeline: Pipeline, user_of_role: Any, client_for: Any, api_for: Any, role: str
) -> None:
    user = user_of_role(role)
    client, api = client_for(user), api_for(user)
    for key, deal in pipeline.deals.items():
        code = 200 if key in VISIBLE[role] else 404
        assert client.get(f"/deals/{deal.pk}/").status_code == code, key
        assert api.get(f"/api/v1/deals/{deal.pk}").status_code == code, key


@pytest.mark.parametrize("role", ROLES)
def test_changing_moving_and_editing_follow_the_change_scope(
    pipeline: Pipeline, user_of_role: Any, client_for: Any, api_for: Any, role: str
) -> None:
    user = user_of_role(role)
    api, client = api_for(user), client_for(user)
    proposal = stage(position=2)
    for key, deal in pipeline.deals.items():
        expected = _expected(key, CHANGEABLE[role], VISIBLE[role])
        patch = api.patch(f"/api/v1/deals/{deal.pk}", {"next_step": "Call"})
        assert patch.status_code == expected, (key, patch.content)
        move = api.post(f"/api/v1/deals/{deal.pk}/move", {"stage": proposal.pk})
        assert move.status_code == expected, (key, move.content)
        edit = client.get(f"/deals/{deal.pk}/edit/")
        assert edit.status_code == expected, key
    moved = set(Deal.objects.filter(stage=proposal).values_list("name", flat=True))
    assert moved == {f"Deal {key}" for key in CHANGEABLE[role]}


@pytest.mark.parametrize("role", ROLES)
def test_web_move_and_next_step_change_nothing_without_the_right(
    pipeline: Pipeline, user_of_role: Any, client_for: Any, role: str
) -> None:
    user = user_of_role(role)
    client = client_for(user)
    lost = stage(StageKind.LOST)
    for key, deal in pipeline.deals.items():
        response = client.post(
            f"/deals/{deal.pk}/move/", {"stage": lost.pk, "lost_reason": "Price"}
        )
        assert response.status_code == (302 if key in VISIBLE[role] else 404), key
        client.post(f"/deals/{deal.pk}/next-step/", {"title": "Call", "due_date": "2030-01-01"})
    lost_now = set(Deal.objects.filter(stage=lost).values_list("name", flat=True))
    assert lost_now == {f"Deal {key}" for key in CHANGEABLE[role]}
    stepped = set(Deal.objects.filter(next_step="Call").values_list("name", flat=True))
    assert stepped == {f"Deal {key}" for key in CHANGEABLE[role]}


@pytest.mark.parametrize("role", ROLES)
def test_delete_follows_the_delete_scope(
    pipeline: Pipeline, user_of_role: Any, api_for: Any, role: str
) -> None:
    api = api_for(user_of_role(role))
    for key, deal in pipeline.deals.items():
        response = api.delete(f"/api/v1/deals/{deal.pk}")
        expected = _expected(key, DELETABLE[role], VISIBLE[role])
        assert response.status_code == (204 if expected == 200 else expected), key


@pytest.mark.parametrize("role", ROLES)
def test_create_export_and_new_page_follow_the_role(
    pipeline: Pipeline, user_of_role: Any, client_for: Any, api_for: Any, role: str
) -> None:
    user = user_of_role(role)
    contact = pipeline.world.contacts["none"]
    body = {"name": "Via API", "expected_close": "2030-01-31", "contact": contact.pk}
    created = api_for(user).post("/api/v1/deals", body)
    assert created.status_code == (201 if role in MAY_ADD else 403), created.content
    client = client_for(user)
    assert client.get("/deals/new/").status_code == (200 if role in MAY_ADD else 403)
    assert client.get("/deals/export.csv").status_code == (200 if role in MAY_EXPORT else 403)


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_pipelines_board_and_forecast_only_admins_shape_them(
    pipeline: Pipeline, user_of_role: Any, client_for: Any, api_for: Any, role: str
) -> None:
    user = user_of_role(role)
    client = client_for(user)
    for url in ("/deals/board/", "/deals/forecast/", "/deals/pipelines/", "/deals/count/"):
        assert client.get(url).status_code == 200, url
    assert api_for(user).get("/api/v1/pipelines").status_code == 200
    response = client.post("/deals/pipelines/", {"verb": "create", "name": f"P {role}"})
    assert response.status_code == (302 if role == Role.ADMIN else 403)
    target = client.post("/deals/forecast/", {"owner": user.pk, "month": "2030-01", "amount": "1"})
    assert target.status_code == (302 if role in (Role.ADMIN, Role.MANAGER) else 403)


def test_anonymous_visitors_see_nothing(pipeline: Pipeline, client: Any) -> None:
    deal = pipeline.deals["sales"]
    for url in ("/deals/", "/deals/board/", f"/deals/{deal.pk}/", "/deals/forecast/"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login" in response["Location"]
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/deals").status_code in (401, 403)


def test_the_trash_is_for_admins(
    pipeline: Pipeline, admin: User, sales: User, api_for: Any
) -> None:
    deal = pipeline.deals["sales"]
    services.trash_deal(sales, deal)
    assert api_for(sales).get("/api/v1/deals/trash").status_code == 403
    assert api_for(sales).post(f"/api/v1/deals/{deal.pk}/restore").status_code == 404
    trash = api_for(admin).get("/api/v1/deals/trash")
    assert [row["id"] for row in trash.json()["results"]] == [deal.pk]
    assert api_for(admin).post(f"/api/v1/deals/{deal.pk}/restore").status_code == 200
