"""The timeline panel: shown on contact and company pages, filter, load more, log, edit, delete."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.http import HttpResponse
from django.utils import timezone

from rapport.customers.models import Company, Contact
from rapport.interactions import panels
from rapport.interactions.models import Interaction
from rapport.users.models import User
from tests.customers.factories import make_company, make_contact
from tests.interactions.factories import logged, touchpoint

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def text_of(response: HttpResponse) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.content.decode())


def subjects(response: HttpResponse) -> list[str]:
    """The subjects of the timeline rows, in the order shown."""
    return re.findall(r"<strong class=\"timeline-subject\">(.*?)</strong>", text_of(response))


def local(moment: datetime | None = None) -> str:
    """What a datetime-local input sends for ``moment`` (default: now)."""
    return timezone.localtime(moment or timezone.now()).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def contact(sales: User) -> Contact:
    return make_contact(sales, first_name="Tina", last_name="Timeline", owner=sales)


def test_contact_page_shows_the_timeline_with_notes_and_composer(
    sales: User, contact: Contact, client_for: Any
) -> None:
    from rapport.customers import services as customer_services

    customer_services.update_contact(sales, contact, {"notes": "Prefers mornings"})
    logged(
        sales,
        contact=contact,
        subject="Discussed the renewal",
        body="Wants a discount",
        outcome="interested",
        duration_minutes=12,
    )
    page = text_of(client_for(sales).get(f"/contacts/{contact.pk}/"))
    assert page.count('id="timeline"') == 1, "the panel replaces the old card"
    assert "Prefers mornings" in page
    assert "Discussed the renewal" in page
    assert "Wants a discount" in page
    assert "Interested" in page
    assert "12 min" in page
    assert "Sam Sales" in page
    assert 'id="timeline-composer"' in page
    assert 'name="log-subject"' in page


def test_company_page_shows_its_own_and_its_peoples_touchpoints(
    sales: User, client_for: Any
) -> None:
    company = make_company(sales, name="Acme", owner=sales)
    member = make_contact(
        sales, first_name="Mo", last_name="Member", owner=sales, companies=[(company, "Buyer")]
    )
    touchpoint(sales, company=company, subject="Account review")
    touchpoint(sales, contact=member, subject="Call with Mo")
    page = text_of(client_for(sales).get(f"/companies/{company.pk}/"))
    assert page.count('id="timeline"') == 1
    assert "Account review" in page
    assert "Call with Mo" in page
    assert f'href="/contacts/{member.pk}/">Mo Member</a>' in page
    assert "Nobody in particular" in page  # the composer can name one of its people


def test_read_only_sees_the_timeline_without_composer_or_buttons(
    sales: User, read_only: User, contact: Contact, client_for: Any
) -> None:
    logged(sales, contact=contact, subject="A call")
    page = text_of(client_for(read_only).get(f"/contacts/{contact.pk}/"))
    assert "A call" in page
    assert "timeline-composer" not in page
    assert "/edit/" not in page
    assert "/delete/" not in page


def test_kind_filter_answers_htmx_with_the_items_partial(
    sales: User, contact: Contact, client_for: Any
) -> None:
    logged(sales, contact=contact, kind="call", subject="The call")
    logged(sales, contact=contact, kind="note", subject="The note")
    web = client_for(sales)
    response = web.get(f"/timeline/contact/{contact.pk}/?kind=note", **HTMX)
    body = text_of(response)
    assert body.lstrip().startswith('<div id="timeline-items">')
    assert "<html" not in body
    assert subjects(response) == ["The note"]
    assert 'aria-current="page">Note</a>' in body
    everything = web.get(f"/timeline/contact/{contact.pk}/", **HTMX)
    assert subjects(everything) == ["The note", "The call"]


def test_unknown_kind_shows_everything_with_a_message(
    sales: User, contact: Contact, client_for: Any
) -> None:
    logged(sales, contact=contact, subject="The call")
    response = client_for(sales).get(f"/timeline/contact/{contact.pk}/?kind=visit", **HTMX)
    assert "no such kind" in text_of(response)
    assert subjects(response) == ["The call"]


def test_without_htmx_the_timeline_is_a_full_page(
    sales: User, contact: Contact, client_for: Any
) -> None:
    logged(sales, contact=contact, subject="The call")
    page = text_of(client_for(sales).get(f"/timeline/contact/{contact.pk}/"))
    assert "<html" in page
    assert "Timeline of" in page
    assert "The call" in page


def test_load_more_walks_every_row_once_newest_first(
    sales: User, contact: Contact, client_for: Any
) -> None:
    now = timezone.now()
    total = panels.PAGE_SIZE * 2 + 5
    for n in range(total):
        touchpoint(
            sales, contact=contact, subject=f"Touch {n:03d}", occurred_at=now - timedelta(hours=n)
        )
    web = client_for(sales)
    first = web.get(f"/contacts/{contact.pk}/")
    seen = subjects(first)
    assert len(seen) == panels.PAGE_SIZE
    next_url = re.search(
        r'hx-get="([^"]+cursor=[^"]+)" hx-trigger="revealed"', first.content.decode()
    )
    pages = 1
    while next_url:
        response = web.get(html.unescape(next_url.group(1)), **HTMX)
        body = response.content.decode()
        assert "<html" not in body
        assert "timeline-items" not in body, "load more appends rows, not the whole list"
        seen += subjects(response)
        pages += 1
        next_url = re.search(r'hx-get="([^"]+cursor=[^"]+)" hx-trigger="revealed"', body)
    assert pages == 3
    assert seen == [f"Touch {n:03d}" for n in range(total)]


def test_load_more_keeps_the_kind_filter(sales: User, contact: Contact, client_for: Any) -> None:
    now = timezone.now()
    for n in range(panels.PAGE_SIZE + 3):
        touchpoint(
            sales,
            contact=contact,
            kind="note",
            subject=f"Note {n}",
            occurred_at=now - timedelta(hours=n),
        )
        touchpoint(
            sales,
            contact=contact,
            kind="call",
            subject=f"Call {n}",
            occurred_at=now - timedelta(hours=n, minutes=30),
        )
    web = client_for(sales)
    first = web.get(f"/timeline/contact/{contact.pk}/?kind=note", **HTMX)
    link = re.search(r'hx-get="([^"]+)" hx-trigger="revealed"', first.content.decode())
    assert link is not None
    assert "kind=note" in link.group(1)
    second = web.get(html.unescape(link.group(1)), **HTMX)
    assert subjects(second) == [f"Note {n}" for n in range(panels.PAGE_SIZE, panels.PAGE_SIZE + 3)]


def test_a_foreign_cursor_starts_from_the_newest(
    sales: User, contact: Contact, client_for: Any
) -> None:
    logged(sales, contact=contact, subject="Only one")
    response = client_for(sales).get(f"/timeline/contact/{contact.pk}/?cursor=bogus", **HTMX)
    assert subjects(response) == ["Only one"]


def test_composer_logs_in_place_and_returns_the_panel(
    sales: User, contact: Contact, client_for: Any
) -> None:
    response = client_for(sales).post(
        f"/timeline/contact/{contact.pk}/log/",
        {
            "log-kind": "meeting",
            "log-subject": "Demo on site",
            "log-occurred_at": (timezone.localtime() - timedelta(hours=1)).strftime(
                "%Y-%m-%dT%H:%M"
            ),
            "log-outcome": "interested",
            "log-duration_minutes": "45",
            "log-channel": "in_person",
            "log-direction": "outbound",
            "log-body": "Liked the new model",
        },
        **HTMX,
    )
    body = text_of(response)
    assert body.lstrip().startswith('<div class="card" id="timeline">')
    assert "<html" not in body
    assert subjects(response)[0] == "Demo on site"
    row = Interaction.objects.get()
    assert (row.kind, row.owner, row.contact, row.duration_minutes, row.outcome) == (
        "meeting",
        sales,
        contact,
        45,
        "interested",
    )
    assert 'value="Demo on site"' not in body, "a fresh composer after logging"


def test_composer_shows_validation_errors_in_the_form(
    sales: User, contact: Contact, client_for: Any
) -> None:
    future = local(timezone.now() + timedelta(days=2))
    web = client_for(sales)
    response = web.post(
        f"/timeline/contact/{contact.pk}/log/",
        {"log-kind": "call", "log-subject": "Soon", "log-occurred_at": future},
        **HTMX,
    )
    body = text_of(response)
    assert "cannot be in the future" in body
    assert 'value="Soon"' in body, "what was typed stays"
    assert '<details class="timeline-composer" open>' in body
    missing = web.post(f"/timeline/contact/{contact.pk}/log/", {"log-kind": "order"}, **HTMX)
    assert "Select a valid choice" in text_of(missing)
    assert "This field is required" in text_of(missing)
    assert not Interaction.objects.exists()


def test_composer_without_htmx_redirects_with_a_message(
    sales: User, contact: Contact, client_for: Any
) -> None:
    response = client_for(sales).post(
        f"/timeline/contact/{contact.pk}/log/",
        {
            "log-kind": "note",
            "log-subject": "Plain form",
            "log-occurred_at": local(),
        },
        follow=True,
    )
    assert "Logged: Plain form" in text_of(response)
    assert response.redirect_chain[-1][0] == f"/contacts/{contact.pk}/"


def test_composer_on_a_company_can_name_one_of_its_people(sales: User, client_for: Any) -> None:
    company = make_company(sales, owner=sales)
    member = make_contact(sales, owner=sales, companies=[(company, "Buyer")])
    response = client_for(sales).post(
        f"/timeline/company/{company.pk}/log/",
        {
            "log-kind": "call",
            "log-subject": "Call via the switchboard",
            "log-contact": member.pk,
            "log-occurred_at": local(),
        },
        **HTMX,
    )
    assert "Call via the switchboard" in text_of(response)
    row = Interaction.objects.get()
    assert (row.company, row.contact) == (company, member)


def test_managers_pick_who_had_it(
    manager: User, sales: User, contact: Contact, client_for: Any
) -> None:
    assert 'name="log-owner"' in text_of(client_for(manager).get(f"/contacts/{contact.pk}/"))
    assert 'name="log-owner"' not in text_of(client_for(sales).get(f"/contacts/{contact.pk}/"))
    client_for(manager).post(
        f"/timeline/contact/{contact.pk}/log/",
        {
            "log-kind": "call",
            "log-subject": "For Sam",
            "log-owner": sales.pk,
            "log-occurred_at": local(),
        },
        **HTMX,
    )
    assert Interaction.objects.get().owner == sales


def test_edit_in_place(sales: User, contact: Contact, client_for: Any) -> None:
    row = logged(sales, contact=contact, subject="Frist call")
    web = client_for(sales)
    form = web.get(f"/interactions/{row.pk}/edit/", **HTMX)
    body = text_of(form)
    assert body.lstrip().startswith(f'<li id="interaction-{row.pk}"')
    assert 'value="Frist call"' in body
    prefix = f"edit{row.pk}"
    saved = web.post(
        f"/interactions/{row.pk}/edit/",
        {
            f"{prefix}-kind": "call",
            f"{prefix}-subject": "First call",
            f"{prefix}-version": "1",
            f"{prefix}-occurred_at": local(row.occurred_at),
        },
        **HTMX,
    )
    assert subjects(saved) == ["First call"]
    assert text_of(saved).lstrip().startswith(f'<li id="interaction-{row.pk}"')
    row.refresh_from_db()
    assert (row.subject, row.version) == ("First call", 2)
    cancel = web.get(f"/interactions/{row.pk}/", **HTMX)
    assert subjects(cancel) == ["First call"]


def test_edit_with_a_stale_version_shows_a_conflict(
    sales: User, contact: Contact, client_for: Any
) -> None:
    from rapport.interactions import services

    row = logged(sales, contact=contact, subject="Original")
    services.update_interaction(sales, row, {"subject": "Changed elsewhere"})
    prefix = f"edit{row.pk}"
    response = client_for(sales).post(
        f"/interactions/{row.pk}/edit/",
        {
            f"{prefix}-kind": "call",
            f"{prefix}-subject": "Mine",
            f"{prefix}-version": "1",
            f"{prefix}-occurred_at": local(row.occurred_at),
        },
        **HTMX,
    )
    assert "changed by someone else" in text_of(response)
    row.refresh_from_db()
    assert row.subject == "Changed elsewhere"


def test_edit_errors_stay_in_the_form(sales: User, contact: Contact, client_for: Any) -> None:
    row = logged(sales, contact=contact, subject="Original")
    prefix = f"edit{row.pk}"
    response = client_for(sales).post(
        f"/interactions/{row.pk}/edit/",
        {
            f"{prefix}-kind": "call",
            f"{prefix}-subject": "Mine",
            f"{prefix}-version": "1",
            f"{prefix}-duration_minutes": "-5",
            f"{prefix}-occurred_at": local(row.occurred_at),
        },
        **HTMX,
    )
    body = text_of(response)
    assert "greater than or equal to 0" in body
    assert f'id="interaction-{row.pk}"' in body


def test_delete_removes_the_row(sales: User, contact: Contact, client_for: Any) -> None:
    row = logged(sales, contact=contact, subject="Oops")
    response = client_for(sales).post(f"/interactions/{row.pk}/delete/", **HTMX)
    assert response.status_code == 200
    assert response.content == b""
    assert Interaction.objects.get(pk=row.pk).is_deleted
    page = text_of(client_for(sales).get(f"/contacts/{contact.pk}/"))
    assert "Oops" not in page


def test_source_records_with_a_page_are_linked(
    sales: User, contact: Contact, client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    company = make_company(sales, owner=sales, name="Source GmbH")
    touchpoint(None, contact=contact, kind="order", subject="With a source", source=company)
    touchpoint(None, contact=contact, kind="order", subject="Without a page", source=contact)
    page = text_of(client_for(sales).get(f"/contacts/{contact.pk}/"))
    assert ">Open company</a>" not in page, "no link while the source has no page"
    monkeypatch.setattr(
        Company, "get_absolute_url", lambda self: f"/companies/{self.pk}/", raising=False
    )
    page = text_of(client_for(sales).get(f"/contacts/{contact.pk}/"))
    assert f'<a href="/companies/{company.pk}/">Open company</a>' in page
    assert page.count(">Open company</a>") == 1
    assert ">Open contact</a>" not in page


def test_edit_and_delete_work_without_javascript(
    sales: User, contact: Contact, client_for: Any
) -> None:
    row = logged(sales, contact=contact, subject="Plain")
    web = client_for(sales)
    page = text_of(web.get(f"/interactions/{row.pk}/edit/"))
    assert "<html" in page
    assert 'value="Plain"' in page
    prefix = f"edit{row.pk}"
    saved = web.post(
        f"/interactions/{row.pk}/edit/",
        {
            f"{prefix}-kind": "note",
            f"{prefix}-subject": "Plainer",
            f"{prefix}-version": "1",
            f"{prefix}-occurred_at": local(row.occurred_at),
        },
    )
    assert saved.status_code == 302
    assert saved["Location"] == f"/contacts/{contact.pk}/"
    row.refresh_from_db()
    assert (row.kind, row.subject) == ("note", "Plainer")
    assert web.get(f"/interactions/{row.pk}/")["Location"] == f"/contacts/{contact.pk}/"
    gone = web.post(f"/interactions/{row.pk}/delete/", follow=True)
    assert "Deleted: Plainer" in text_of(gone)


def test_managers_correct_a_row_rapport_wrote_but_not_its_kind(
    manager: User, contact: Contact, client_for: Any
) -> None:
    order = touchpoint(None, contact=contact, kind="order", subject="Order 12")
    web = client_for(manager)
    form = text_of(web.get(f"/interactions/{order.pk}/edit/", **HTMX))
    assert f'name="edit{order.pk}-kind"' not in form
    prefix = f"edit{order.pk}"
    saved = web.post(
        f"/interactions/{order.pk}/edit/",
        {
            f"{prefix}-subject": "Order 12 (phone)",
            f"{prefix}-version": "1",
            f"{prefix}-channel": "phone",
            f"{prefix}-occurred_at": local(order.occurred_at),
        },
        **HTMX,
    )
    assert subjects(saved) == ["Order 12 (phone)"]
    order.refresh_from_db()
    assert (order.kind, order.channel) == ("order", "phone")


def test_stage_changes_show_on_the_timeline(sales: User, contact: Contact, client_for: Any) -> None:
    web = client_for(sales)
    web.post(f"/contacts/{contact.pk}/stage/", {"stage": "prospect", "reason": "Asked for prices"})
    page = text_of(web.get(f"/contacts/{contact.pk}/"))
    assert "Lead → Prospect" in page
    assert "Asked for prices" in page
    assert '<span class="badge muted">Stage change</span>' in page
    assert f"/interactions/{Interaction.objects.get().pk}/edit/" not in page, "Rapport's row"
