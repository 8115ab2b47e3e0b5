"""The service desk pages as staff use them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from rapport.search.registry import search
from rapport.service import services
from rapport.service.choices import MessageKind, TicketStatus
from rapport.service.models import Attachment, Ticket
from rapport.users.models import User
from tests.service.conftest import Desk
from tests.service.factories import make_ticket

pytestmark = pytest.mark.django_db


def test_open_a_ticket_from_the_form(desk: Desk, service_user: User, client_for: Any) -> None:
    contact = desk.world.contacts["none"]
    response = client_for(service_user).post(
        "/tickets/new/",
        {"subject": "Heating off", "description": "Since Monday", "contact": contact.pk,
         "priority": "high", "channel": "phone", "assignee": service_user.pk},
    )  # fmt: skip
    ticket = Ticket.objects.get(subject="Heating off")
    assert response.status_code == 302
    assert response["Location"] == f"/tickets/{ticket.pk}/"
    assert ticket.contact == contact
    assert ticket.assignee == service_user
    assert ticket.sla_policy == desk.policies["high"]
    assert ticket.first_response_due is not None


def test_the_form_shows_errors_by_field(desk: Desk, service_user: User, client_for: Any) -> None:
    response = client_for(service_user).post(
        "/tickets/new/", {"subject": "x", "contact": 999999, "priority": "normal", "channel": "web"}
    )
    assert response.status_code == 200
    assert "No contact 999999 that you may see." in response.content.decode()
    assert not Ticket.objects.filter(subject="x").exists()


def test_detail_shows_conversation_and_sla_clocks(
    desk: Desk, service_user: User, client_for: Any
) -> None:
    services.reply(service_user, desk.north, "We are on it")
    services.add_note(service_user, desk.north, "Check the warranty")
    text = client_for(service_user).get(f"/tickets/{desk.north.pk}/").content.decode()
    assert "We are on it" in text
    assert "Check the warranty" in text
    assert "Internal note" in text
    assert "Public reply" in text
    assert "First response" in text
    assert "met" in text
    desk.north.refresh_from_db()
    assert f"due {timezone.localtime(desk.north.resolution_due):%Y-%m-%d %H:%M}" in text


def test_the_composer_answers_with_the_conversation_for_htmx(
    desk: Desk, service_user: User, client_for: Any
) -> None:
    client = client_for(service_user)
    url = f"/tickets/{desk.north.pk}/compose/"
    response = client.post(
        url, {"kind": "note", "body": "Spare part ordered"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert 'id="conversation"' in text
    assert "Spare part ordered" in text
    assert "<html" not in text
    empty = client.post(url, {"kind": "reply", "body": "  "}, HTTP_HX_REQUEST="true")
    assert empty.status_code == 400
    assert "This field is required." in empty.content.decode()
    assert desk.north.messages.filter(kind=MessageKind.NOTE).count() == 1


def test_resolve_and_stale_version_conflict(
    desk: Desk, service_user: User, client_for: Any
) -> None:
    client = client_for(service_user)
    stale = desk.north.version
    services.update_ticket(service_user, desk.north, {"subject": "Changed meanwhile"})
    response = client.post(
        f"/tickets/{desk.north.pk}/status/", {"status": "resolved", "version": stale}, follow=True
    )
    assert "changed by someone else" in response.content.decode()
    desk.north.refresh_from_db()
    client.post(
        f"/tickets/{desk.north.pk}/status/", {"status": "resolved", "version": desk.north.version}
    )
    desk.north.refresh_from_db()
    assert desk.north.status == TicketStatus.RESOLVED


def test_queues(desk: Desk, service_user: User, admin: User, client_for: Any) -> None:
    services.assign(admin, desk.north, service_user)
    client = client_for(service_user)

    def subjects(queue: str) -> set[str]:
        page = client.get(f"/tickets/?queue={queue}").content.decode()
        return {t.subject for t in (desk.north, desk.south, desk.untaken) if t.subject in page}

    assert subjects("mine") == {"North boiler"}
    assert subjects("unassigned") == {"South leak", "Nobody has it yet"}
    assert subjects("breaching") == set()
    overdue = make_ticket(
        admin, subject="Overdue one", contact=desk.world.contacts["none"],
        now=timezone.now() - dt.timedelta(days=10),
    )  # fmt: skip
    assert "Overdue one" in client.get("/tickets/?queue=breaching").content.decode()
    services.reply(admin, overdue, "Answered", status=TicketStatus.PENDING_CUSTOMER)
    assert "Overdue one" not in client.get("/tickets/?queue=breaching").content.decode()


def test_alerts_show_on_the_ticket_list(
    desk: Desk, service_user: User, admin: User, client_for: Any
) -> None:
    ticket = make_ticket(
        admin, subject="Late", contact=desk.world.contacts["none"], assignee=service_user,
        now=timezone.now() - dt.timedelta(days=10),
    )  # fmt: skip
    services.check_sla()
    text = client_for(service_user).get("/tickets/").content.decode()
    assert "SLA alerts for you" in text
    assert f"[#{ticket.reference}] Late" in text


def test_search_finds_tickets_by_reference_and_subject(desk: Desk, sales: User) -> None:
    by_reference = search(sales, desk.north.reference)
    assert [r.title for r in by_reference if r.kind == "Ticket"] == [str(desk.north)]
    assert [r.title for r in search(sales, "boiler") if r.kind == "Ticket"] == [str(desk.north)]
    assert [r for r in search(sales, desk.south.reference) if r.kind == "Ticket"] == []


def test_tickets_panel_on_the_contact_page(desk: Desk, service_user: User, client_for: Any) -> None:
    text = client_for(service_user).get(f"/contacts/{desk.north.contact_id}/").content.decode()
    assert 'id="tickets-panel"' in text
    assert desk.north.reference in text
    assert desk.south.reference not in text


def test_attachments_are_served_only_to_who_sees_the_ticket(
    desk: Desk, service_user: User, sales: User, client_for: Any
) -> None:
    message = services.add_note(service_user, desk.south, "photo attached")
    attachment = Attachment(message=message, filename="photo.png", content_type="image/png", size=3)
    attachment.file.save("photo.png", ContentFile(b"png"), save=True)
    url = f"/tickets/{desk.south.pk}/attachments/{attachment.pk}/"
    response = client_for(service_user).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"png"
    assert client_for(sales).get(url).status_code == 404


def test_navigation_shows_tickets_to_who_may_see_them(
    desk: Desk, service_user: User, marketing: User, client_for: Any
) -> None:
    assert 'href="/tickets/"' in client_for(service_user).get("/tickets/").content.decode()
    home = client_for(marketing).get("/contacts/").content.decode()
    assert 'href="/tickets/"' not in home


def test_the_timeline_links_to_the_ticket_and_reply(
    desk: Desk, service_user: User, client_for: Any
) -> None:
    message = services.reply(service_user, desk.north, "On our way")
    text = client_for(service_user).get(f"/contacts/{desk.north.contact_id}/").content.decode()
    assert f'href="/tickets/{desk.north.pk}/"' in text
    assert f'href="/tickets/{desk.north.pk}/#message-{message.pk}"' in text


def test_admins_set_up_policies_calendars_and_holidays(
    desk: Desk, admin: User, sales: User, client_for: Any
) -> None:
    client = client_for(admin)
    policy = {
        "form": "policy", "name": "Urgent", "priority": "urgent", "calendar": desk.calendar.pk,
        "first_response_minutes": 15, "resolution_minutes": 120, "warning_minutes": 10,
    }  # fmt: skip
    assert client.post("/tickets/sla/", policy).status_code == 302
    assert desk.calendar.policies.get(priority="urgent").first_response_minutes == 15
    changed = {**policy, "priority": "normal", "first_response_minutes": 45}
    client.post("/tickets/sla/", changed)
    desk.policies["normal"].refresh_from_db()
    assert desk.policies["normal"].first_response_minutes == 45
    bad = client.post(
        "/tickets/sla/",
        {"form": "calendar", "name": "Mars", "time_zone": "Mars/Olympus", "working_days": [0],
         "day_start": "09:00", "day_end": "17:00"},
    )  # fmt: skip
    assert bad.status_code == 200
    assert "Unknown time zone" in bad.content.decode()
    client.post(
        "/tickets/sla/",
        {"form": "holiday", "calendar": desk.calendar.pk, "date": "2026-12-24", "name": "Eve"},
    )
    assert desk.calendar.holidays.filter(name="Eve").exists()
    refused = client_for(sales).post("/tickets/sla/", {**policy, "priority": "low"})
    assert refused.status_code == 403
    assert not desk.calendar.policies.filter(priority="low").exists()
    assert "Save policy" not in client_for(sales).get("/tickets/sla/").content.decode()


def test_edit_form_saves_and_refuses_a_stale_version(
    desk: Desk, service_user: User, client_for: Any
) -> None:
    client = client_for(service_user)
    form = {
        "subject": "North boiler, again", "description": "", "contact": desk.north.contact_id,
        "priority": "high", "channel": "phone", "assignee": service_user.pk,
        "team": desk.north.team_id, "version": desk.north.version,
    }  # fmt: skip
    assert client.post(f"/tickets/{desk.north.pk}/edit/", form).status_code == 302
    desk.north.refresh_from_db()
    assert desk.north.subject == "North boiler, again"
    assert desk.north.sla_policy == desk.policies["high"]
    stale = client.post(f"/tickets/{desk.north.pk}/edit/", {**form, "subject": "Lost update"})
    assert "changed by someone else" in stale.content.decode()
    desk.north.refresh_from_db()
    assert desk.north.subject == "North boiler, again"


@pytest.mark.parametrize(
    "url", ["/tickets/", "/deals/", "/surveys/", "/segments/", "/contacts/", "/orders/"]
)
def test_every_list_filter_has_a_readable_label(admin: User, client_for: Any, url: str) -> None:
    page = client_for(admin).get(url)
    assert page.status_code == 200
    assert "[invalid name]" not in page.content.decode()
