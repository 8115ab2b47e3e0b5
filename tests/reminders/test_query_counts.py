"""My day, the task list, the API list and the panel cost the same for 3 tasks as for 30."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.users.models import User
from tests.customers.factories import make_company, make_contact
from tests.customers.test_query_counts import queries_of
from tests.reminders.conftest import make_task

pytestmark = pytest.mark.django_db


def tasks_for(user: User, count: int, offset: int = 0) -> None:
    """Tasks of every kind: overdue, today, coming; on contacts and companies; repeating."""
    for number in range(offset, offset + count):
        contact = make_contact(user, owner=user) if number % 3 == 0 else None
        company = make_company(user, owner=user) if number % 3 == 1 else None
        make_task(
            user,
            title=f"Task {number}",
            days=(number % 9) - 3,
            assignee=user,
            contact=contact,
            company=company,
            recurrence="FREQ=WEEKLY" if number % 4 == 0 else "",
            due_time="10:00" if number % 2 else None,
        )


@pytest.mark.parametrize(
    "url", ["/tasks/", "/tasks/all/", "/tasks/all/?status=open&assignee=me", "/api/v1/tasks"]
)
def test_query_count_does_not_grow_with_rows(
    sales: User, client_for: Any, api_for: Any, url: str
) -> None:
    client = api_for(sales) if url.startswith("/api/") else client_for(sales)

    def request() -> Any:
        return client.get(url)

    tasks_for(sales, 3)
    few, _ = queries_of(request)
    tasks_for(sales, 27, offset=3)
    many, sql = queries_of(request)
    assert many == few, "\n".join(sql)


def test_contact_panel_query_count_is_constant(sales: User, client_for: Any) -> None:
    contact = make_contact(sales, owner=sales)
    browser = client_for(sales)

    def request() -> Any:
        return browser.get(f"/contacts/{contact.pk}/")

    make_task(sales, assignee=sales, contact=contact)
    few, _ = queries_of(request)
    for number in range(8):
        make_task(sales, title=f"More {number}", assignee=sales, contact=contact)
    many, sql = queries_of(request)
    assert many == few, "\n".join(sql)
