"""My day, quick add and complete in place (htmx partials), the list and its filters."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from rapport.reminders import services
from rapport.reminders.models import Task
from rapport.users.models import User
from tests.customers.factories import make_company, make_contact
from tests.reminders.conftest import make_task

pytestmark = pytest.mark.django_db


def section(html: str, key: str) -> str:
    start = html.index(f'id="tasks-{key}"')
    return html[start : html.index("</section>", start)]


def test_my_day_sorts_tasks_into_overdue_today_and_upcoming(sales: User, client_for: Any) -> None:
    make_task(sales, title="Late one", days=-2, assignee=sales)
    make_task(sales, title="Today one", days=0, assignee=sales)
    make_task(sales, title="Soon one", days=3, assignee=sales)
    make_task(sales, title="Far one", days=30, assignee=sales)
    make_task(sales, title="Earlier today", days=0, due_time="00:00", assignee=sales)
    html = client_for(sales).get("/tasks/").content.decode()
    assert "Late one" in section(html, "overdue")
    assert "Earlier today" in section(html, "overdue")
    assert "Today one" in section(html, "today")
    assert "Soon one" in section(html, "upcoming")
    assert "Far one" not in html


def test_complete_in_place_returns_only_the_row(sales: User, client_for: Any) -> None:
    task = make_task(sales, assignee=sales, recurrence="FREQ=WEEKLY")
    response = client_for(sales).post(f"/tasks/{task.pk}/complete/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<li class="task-row task-done" id="task-{task.pk}"')
    assert "<html" not in html
    assert "Reopen" in html
    assert "Next:" in html
    reopened = client_for(sales).post(f"/tasks/{task.pk}/reopen/", HTTP_HX_REQUEST="true")
    assert "task-done" not in reopened.content.decode()
    assert Task.objects.get(pk=task.pk).done_at is None


def test_quick_add_with_htmx_returns_the_day(sales: User, client_for: Any) -> None:
    today = timezone.localdate().isoformat()
    response = client_for(sales).post(
        "/tasks/add/", {"title": "Phone Ada", "due_date": today}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="my-day">')
    assert "Phone Ada" in section(html, "today")
    task = Task.objects.get(title="Phone Ada")
    assert (task.assignee, task.owner, task.all_day) == (sales, sales, True)


def test_quick_add_errors_come_back_in_the_form(sales: User, client_for: Any) -> None:
    response = client_for(sales).post(
        "/tasks/add/",
        {"title": "Bad rule", "due_date": "2027-01-01", "recurrence": "FREQ=NEVER"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "not a valid RRULE" in html
    assert 'value="Bad rule"' in html
    assert not Task.objects.exists()


def test_panel_quick_add_returns_the_panel(sales: User, client_for: Any) -> None:
    contact = make_contact(sales, owner=sales)
    response = client_for(sales).post(
        "/tasks/add/",
        {"title": "Send brochure", "due_date": "2027-01-05", "contact": contact.pk},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div class="card" id="tasks-panel">')
    assert "Send brochure" in html
    assert Task.objects.get().contact == contact


def test_company_page_has_the_panel(sales: User, client_for: Any) -> None:
    company = make_company(sales, owner=sales)
    make_task(sales, title="Visit the plant", assignee=sales, company=company)
    html = client_for(sales).get(f"/companies/{company.pk}/").content.decode()
    assert 'id="tasks-panel"' in html
    assert "Visit the plant" in html
    assert 'name="company"' in html


def test_done_tasks_leave_the_panel(sales: User, client_for: Any) -> None:
    contact = make_contact(sales, owner=sales)
    task = make_task(sales, title="Finished thing", assignee=sales, contact=contact)
    services.complete_task(sales, task)
    html = client_for(sales).get(f"/contacts/{contact.pk}/").content.decode()
    assert "Finished thing" not in html.split('id="tasks-panel"')[1].split("</div>")[0]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=overdue", {"Late"}),
        ("status=done", {"Done"}),
        ("status=open", {"Late", "Soon", "Urgent", "Theirs"}),
        ("assignee=me&status=open", {"Late", "Soon", "Urgent"}),
        ("priority=urgent", {"Urgent"}),
        ("due_from={soon}&due_until={soon}", {"Soon"}),
        ("q=urg", {"Urgent"}),
    ],
)
def test_list_filters(
    sales: User, north_colleague: User, client_for: Any, query: str, expected: set[str]
) -> None:
    make_task(sales, title="Late", days=-1, assignee=sales)
    make_task(sales, title="Soon", days=2, assignee=sales)
    urgent = make_task(sales, title="Urgent", days=5, assignee=sales)
    services.update_task(sales, urgent, {"priority": "urgent"})
    make_task(sales, title="Theirs", days=5, assignee=north_colleague)
    services.complete_task(sales, make_task(sales, title="Done", days=1, assignee=sales))
    soon = (timezone.localdate() + timedelta(days=2)).isoformat()
    response = client_for(sales).get("/tasks/all/?" + query.format(soon=soon))
    html = response.content.decode()
    titles = {"Late", "Soon", "Urgent", "Theirs", "Done"}
    assert {title for title in titles if f">{title}</a>" in html} == expected


def test_list_pages_with_keyset_cursor_and_htmx_partial(sales: User, client_for: Any) -> None:
    for day in range(30):
        make_task(sales, title=f"Task {day:02d}", days=day, assignee=sales)
    browser = client_for(sales)
    first = browser.get("/tasks/all/?size=25").content.decode()
    assert ">Task 00</a>" in first
    assert ">Task 24</a>" in first
    assert ">Task 25</a>" not in first
    start = first.index("cursor=")
    cursor = first[start + 7 : first.index('"', start)]
    second = browser.get(f"/tasks/all/?size=25&cursor={cursor}", HTTP_HX_REQUEST="true")
    html = second.content.decode()
    assert html.lstrip().startswith('<div id="list-results">')
    assert ">Task 25</a>" in html
    assert ">Task 29</a>" in html
    assert ">Task 00</a>" not in html


def test_edit_page_refuses_a_stale_version(sales: User, client_for: Any) -> None:
    task = make_task(sales, assignee=sales)
    services.update_task(sales, task, {"title": "Changed elsewhere"})
    response = client_for(sales).post(
        f"/tasks/{task.pk}/",
        {"title": "Mine", "due_date": "2027-01-05", "priority": "low", "version": 1},
    )
    assert response.status_code == 200
    assert "changed by someone else" in response.content.decode()
    assert Task.objects.get(pk=task.pk).title == "Changed elsewhere"


def test_navigation_has_tasks(sales: User, client_for: Any) -> None:
    html = client_for(sales).get("/tasks/").content.decode()
    assert 'href="/tasks/" aria-current="page"' in html
