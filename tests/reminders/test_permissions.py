"""Who sees and changes which tasks: every role, on every page and endpoint.

Written out by hand from reminders/permissions.py. The world: a task assigned
to the North sales user, a North colleague, nobody, the South sales user and
the team-less marketing user; and two tasks of the South sales user, one on a
customer of the North sales user and one on South's own customer.
"""

from __future__ import annotations

from typing import Any

import pytest

from rapport.core.permissions import Role
from rapport.reminders.models import Task
from tests.reminders.conftest import TaskWorld

pytestmark = pytest.mark.django_db

KEYS = ("sales", "north", "none", "south", "marketing", "on_sales_customer", "south_on_south")
EVERYTHING = set(KEYS)
NORTH = {"sales", "north", "none"}

VISIBLE: dict[str, set[str]] = {
    Role.ADMIN: EVERYTHING,
    Role.MANAGER: EVERYTHING,
    # Their team's tasks, and South's task on a customer Sam may see.
    Role.SALES: NORTH | {"on_sales_customer"},
    # Service sees every customer, so every task on a customer.
    Role.SERVICE: NORTH | {"on_sales_customer", "south_on_south"},
    Role.MARKETING: {"marketing", "none", "on_sales_customer", "south_on_south"},
    Role.READ_ONLY: EVERYTHING,
}
CHANGEABLE: dict[str, set[str]] = {
    Role.ADMIN: EVERYTHING,
    Role.MANAGER: EVERYTHING,
    Role.SALES: NORTH,
    Role.SERVICE: NORTH,
    Role.MARKETING: {"marketing", "none"},
    Role.READ_ONLY: set(),
}
DELETABLE: dict[str, set[str]] = {
    Role.ADMIN: EVERYTHING,
    Role.MANAGER: EVERYTHING,
    Role.SALES: {"sales"},
    Role.SERVICE: set(),
    Role.MARKETING: {"marketing"},
    Role.READ_ONLY: set(),
}
ROLES = list(Role.values)


def task_of(world: TaskWorld, key: str) -> Task:
    if key == "on_sales_customer":
        return world.on_sales_customer
    if key == "south_on_south":
        return world.south_on_south
    return world.assigned[key]


def keys_of(world: TaskWorld, ids: set[int]) -> set[str]:
    return {key for key in KEYS if task_of(world, key).pk in ids}


@pytest.mark.parametrize("role", ROLES)
def test_task_list_page(
    role: str, task_world: TaskWorld, user_of_role: Any, client_for: Any
) -> None:
    response = client_for(user_of_role(role)).get("/tasks/all/?size=100")
    assert response.status_code == 200
    html = response.content.decode()
    shown = {key for key in KEYS if f'/tasks/{task_of(task_world, key).pk}/"' in html}
    assert shown == VISIBLE[role]


@pytest.mark.parametrize("role", ROLES)
def test_api_list(role: str, task_world: TaskWorld, user_of_role: Any, api_for: Any) -> None:
    response = api_for(user_of_role(role)).get("/api/v1/tasks?limit=100")
    assert response.status_code == 200
    assert keys_of(task_world, {row["id"] for row in response.json()["results"]}) == VISIBLE[role]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", KEYS)
def test_detail_page_and_api_read(
    role: str, key: str, task_world: TaskWorld, user_of_role: Any, client_for: Any, api_for: Any
) -> None:
    user = user_of_role(role)
    pk = task_of(task_world, key).pk
    expected = 200 if key in VISIBLE[role] else 404
    assert client_for(user).get(f"/tasks/{pk}/").status_code == expected
    assert api_for(user).get(f"/api/v1/tasks/{pk}").status_code == expected


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", KEYS)
def test_complete_on_the_web(
    role: str, key: str, task_world: TaskWorld, user_of_role: Any, client_for: Any
) -> None:
    pk = task_of(task_world, key).pk
    response = client_for(user_of_role(role)).post(f"/tasks/{pk}/complete/")
    done = Task.objects.get(pk=pk).done_at is not None
    if key not in VISIBLE[role]:
        assert response.status_code == 404
    else:
        assert response.status_code == 302
    assert done == (key in CHANGEABLE[role])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", KEYS)
def test_complete_with_htmx_is_refused_outright(
    role: str, key: str, task_world: TaskWorld, user_of_role: Any, client_for: Any
) -> None:
    pk = task_of(task_world, key).pk
    response = client_for(user_of_role(role)).post(f"/tasks/{pk}/complete/", HTTP_HX_REQUEST="true")
    expected = 200 if key in CHANGEABLE[role] else 403 if key in VISIBLE[role] else 404
    assert response.status_code == expected


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", KEYS)
def test_api_writes(
    role: str, key: str, task_world: TaskWorld, user_of_role: Any, api_for: Any
) -> None:
    api = api_for(user_of_role(role))
    pk = task_of(task_world, key).pk

    def expected(allowed: set[str], ok: int) -> int:
        if key not in VISIBLE[role]:
            return 404
        return ok if key in allowed else 403

    patched = api.patch(f"/api/v1/tasks/{pk}", {"priority": "high"})
    assert patched.status_code == expected(CHANGEABLE[role], 200)
    completed = api.post(f"/api/v1/tasks/{pk}/complete")
    assert completed.status_code == expected(CHANGEABLE[role], 200)
    reopened = api.post(f"/api/v1/tasks/{pk}/reopen")
    assert reopened.status_code == expected(CHANGEABLE[role], 200)
    deleted = api.delete(f"/api/v1/tasks/{pk}")
    assert deleted.status_code == expected(DELETABLE[role], 204)
    assert Task.objects.get(pk=pk).is_deleted == (key in DELETABLE[role])


@pytest.mark.parametrize("role", ROLES)
def test_edit_on_the_web(
    role: str, task_world: TaskWorld, user_of_role: Any, client_for: Any
) -> None:
    for key in VISIBLE[role]:
        task = task_of(task_world, key)
        response = client_for(user_of_role(role)).post(
            f"/tasks/{task.pk}/",
            {
                "title": "Edited",
                "due_date": "2027-01-05",
                "priority": "low",
                "version": task.version,
                "assignee": "",
            },
        )
        if key in CHANGEABLE[role]:
            assert response.status_code == 302, response.content
        else:
            assert response.status_code == 403
        assert (Task.objects.get(pk=task.pk).title == "Edited") == (key in CHANGEABLE[role])


@pytest.mark.parametrize("role", ROLES)
def test_create_per_role(role: str, user_of_role: Any, api_for: Any, client_for: Any) -> None:
    user = user_of_role(role)
    may_add = role != Role.READ_ONLY
    response = api_for(user).post("/api/v1/tasks", {"title": "New", "due_date": "2027-01-05"})
    assert response.status_code == (201 if may_add else 403)
    if may_add:
        assert response.json()["assignee"] == user.pk
    page = client_for(user).post("/tasks/add/", {"title": "Quick", "due_date": "2027-01-05"})
    assert page.status_code == (302 if may_add else 403)
    assert Task.objects.filter(title="Quick").exists() == may_add


@pytest.mark.parametrize("role", ROLES)
def test_my_day_shows_only_ones_own_tasks(
    role: str, task_world: TaskWorld, user_of_role: Any, client_for: Any
) -> None:
    user = user_of_role(role)
    response = client_for(user).get("/tasks/")
    assert response.status_code == 200
    html = response.content.decode()
    own = {key for key in KEYS if task_of(task_world, key).assignee_id == user.pk}
    shown = {key for key in KEYS if f'/tasks/{task_of(task_world, key).pk}/"' in html}
    assert shown == own


def test_the_contact_panel_shows_visible_open_tasks_only(
    task_world: TaskWorld, sales: Any, client_for: Any
) -> None:
    contact = task_world.on_sales_customer.contact
    assert contact is not None
    html = client_for(sales).get(f"/contacts/{contact.pk}/").content.decode()
    assert 'id="tasks-panel"' in html
    assert "South on Sam&#x27;s customer" in html
    # Visible but not Sam's to change: no "Done" button for it.
    assert f"/tasks/{task_world.on_sales_customer.pk}/complete/" not in html


def test_panel_quick_add_for_a_hidden_customer_is_404(
    task_world: TaskWorld, sales: Any, client_for: Any
) -> None:
    hidden = task_world.south_on_south.contact
    assert hidden is not None
    response = client_for(sales).post(
        "/tasks/add/", {"title": "Sneak", "due_date": "2027-01-05", "contact": hidden.pk}
    )
    assert response.status_code == 404
    assert not Task.objects.filter(title="Sneak").exists()


def test_signed_out_people_get_nothing(task_world: TaskWorld, client: Any) -> None:
    for url in ("/tasks/", "/tasks/all/", f"/tasks/{task_world.assigned['sales'].pk}/"):
        assert client.get(url).status_code == 302
    assert client.get("/api/v1/tasks").status_code in (401, 403)
