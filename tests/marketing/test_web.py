"""The segment and campaign pages as marketing uses them."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.interactions.models import Interaction
from rapport.marketing.choices import CampaignStatus, SegmentKind
from rapport.marketing.models import Campaign, Message, Segment
from rapport.users.models import User
from tests.conftest import SmtpServer
from tests.customers.factories import make_contact
from tests.marketing.factories import consent, make_campaign, make_list, make_segment, rule

pytestmark = pytest.mark.django_db


def editor_post(**fields: str) -> dict[str, str]:
    """The rule editor's fields: the root group and what is given."""
    return {"r.type": "group", "r.op": "and", **fields}


def test_build_a_segment_in_the_editor(marketing: User, admin: User, client_for: Any) -> None:
    make_contact(admin, first_name="Cara", lifecycle_stage="customer", tags=["vip"])
    make_contact(admin, first_name="Leo", lifecycle_stage="lead", tags=["vip"])
    web = client_for(marketing)
    page = web.get("/segments/new/")
    assert page.status_code == 200
    assert 'name="r.0.kind"' in page.content.decode()

    # Press "Add rule", then pick the tag kind: the editor is redrawn with the live count.
    added = web.post(
        "/segments/editor/",
        editor_post(
            **{
                "r.0.type": "rule",
                "r.0.kind": "stage",
                "r.0.op": "is",
                "r.0.value": "customer",
                "edit": "add-rule:r",
            }
        ),
    )
    assert 'name="r.1.kind"' in added.content.decode()
    assert 'data-count="1"' in added.content.decode()
    changed = web.post(
        "/segments/editor/",
        editor_post(**{"r.0.type": "rule", "r.0.kind": "tag", "r.0.op": "has", "r.0.value": "vip"}),
    )
    assert 'data-count="2"' in changed.content.decode()

    response = web.post(
        "/segments/new/",
        {
            "name": "VIP customers",
            "kind": "dynamic",
            **editor_post(
                **{
                    "r.0.type": "rule", "r.0.kind": "tag", "r.0.op": "has", "r.0.value": "vip",
                    "r.1.type": "group", "r.1.op": "or",
                    "r.1.0.type": "rule", "r.1.0.kind": "stage", "r.1.0.op": "is",
                    "r.1.0.value": "customer",
                    "r.1.1.type": "rule", "r.1.1.kind": "stage", "r.1.1.op": "is",
                    "r.1.1.value": "evangelist",
                }
            ),
        },
    )  # fmt: skip
    segment = Segment.objects.get()
    assert response.status_code == 302
    assert segment.rules == {
        "op": "and",
        "rules": [
            {"kind": "tag", "op": "has", "value": "vip"},
            {
                "op": "or",
                "rules": [
                    {"kind": "stage", "op": "is", "value": "customer"},
                    {"kind": "stage", "op": "is", "value": "evangelist"},
                ],
            },
        ],
    }
    detail = web.get(f"/segments/{segment.pk}/").content.decode()
    assert "Cara" in detail
    assert "Leo" not in detail
    assert web.get(f"/segments/{segment.pk}/count/").content == b"1 contact"
    export = web.get(f"/segments/{segment.pk}/export.csv")
    assert b"".join(export.streaming_content).decode().splitlines()[1].startswith("Cara")


def test_editor_groups_and_removal(marketing: User, client_for: Any) -> None:
    web = client_for(marketing)
    base = {"r.0.type": "rule", "r.0.kind": "stage", "r.0.op": "is", "r.0.value": "lead"}
    grouped = web.post(
        "/segments/editor/", editor_post(**base, edit="add-group:r")
    ).content.decode()
    assert 'name="r.1.op"' in grouped
    assert 'name="r.1.0.kind"' in grouped
    removed = web.post("/segments/editor/", editor_post(**base, edit="remove:r.0")).content.decode()
    assert 'name="r.0.kind"' not in removed


def test_bad_rule_is_explained_not_saved(marketing: User, client_for: Any) -> None:
    web = client_for(marketing)
    fields = {"r.0.type": "rule", "r.0.kind": "order_count", "r.0.op": "gte", "r.0.value": "lots"}
    live = web.post("/segments/editor/", editor_post(**fields)).content.decode()
    assert "Not counted yet" in live
    assert "is not a number" in live
    page = web.post("/segments/new/", {"name": "Bad", "kind": "dynamic", **editor_post(**fields)})
    assert page.status_code == 200
    assert "is not a number" in page.content.decode()
    assert not Segment.objects.exists()


def test_edit_a_segment_keeps_its_rules_and_refuses_stale_versions(
    marketing: User, client_for: Any
) -> None:
    segment = make_segment(marketing, rule("stage", op="is", value="lead"), name="Leads")
    web = client_for(marketing)
    page = web.get(f"/segments/{segment.pk}/edit/").content.decode()
    assert 'value="lead" selected' in page
    rule_fields = {"r.0.type": "rule", "r.0.kind": "stage", "r.0.op": "is", "r.0.value": "prospect"}
    fields = {"name": "Prospects", "version": "1", **editor_post(**rule_fields)}
    assert web.post(f"/segments/{segment.pk}/edit/", fields).status_code == 302
    stale = web.post(f"/segments/{segment.pk}/edit/", {**fields, "name": "Again"})
    assert "changed by someone else" in stale.content.decode()
    segment.refresh_from_db()
    assert (segment.name, segment.rules["rules"][0]["value"]) == ("Prospects", "prospect")


def test_static_list_members_by_email(marketing: User, admin: User, client_for: Any) -> None:
    ann = make_contact(admin, first_name="Ann", emails=["ann@example.org"])
    make_contact(admin, first_name="Bob", emails=["bob@example.org"])
    fair = make_list(marketing, [], name="Fair")
    web = client_for(marketing)
    web.post(f"/segments/{fair.pk}/add-members/", {"emails": "ANN@example.org\nnobody@example.org"})
    assert list(fair.members.all()) == [ann]
    assert "Remove" in web.get(f"/segments/{fair.pk}/").content.decode()
    web.post(f"/segments/{fair.pk}/remove-member/", {"contact": ann.pk})
    assert not fair.members.exists()
    assert fair.kind == SegmentKind.STATIC


def test_campaign_from_draft_to_sent(
    marketing: User,
    admin: User,
    client_for: Any,
    smtp_server: SmtpServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    reader = make_contact(
        admin, first_name="Rea", emails=["rea@example.org"], lifecycle_stage="customer"
    )
    consent(reader)
    make_contact(admin, first_name="Nope", lifecycle_stage="customer")
    segment = make_segment(marketing, rule("stage", op="is", value="customer"))
    web = client_for(marketing)
    assert (
        f'value="{segment.pk}" selected'
        in web.get(f"/campaigns/new/?segment={segment.pk}").content.decode()
    )
    web.post(
        "/campaigns/new/",
        {
            "name": "Spring", "segment": segment.pk,
            "subject": "Spring, {{ contact.first_name }}",
            "text_body": "Hello {{ contact.first_name }}", "html_body": "",
            "attribution_days": "14",
        },
    )  # fmt: skip
    campaign = Campaign.objects.get()
    detail = web.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "1 with consent will receive it" in detail
    preview = web.get(f"/campaigns/{campaign.pk}/preview/?contact={reader.pk}").content.decode()
    assert "Spring, Rea" in preview
    assert "Hello Rea" in preview

    web.post(f"/campaigns/{campaign.pk}/test/", {"to": "mia@example.com", "contact": reader.pk})
    assert [m["Subject"] for m in smtp_server.messages] == ["[Test] Spring, Rea"]

    with django_capture_on_commit_callbacks(execute=True):
        web.post(f"/campaigns/{campaign.pk}/send/")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert [m["To"] for m in smtp_server.messages] == ["mia@example.com", "rea@example.org"]
    detail = web.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'data-figure="delivered">1<' in detail
    assert Message.objects.get().contact == reader
    assert Interaction.objects.filter(contact=reader, kind="campaign").count() == 1
    assert web.get(f"/campaigns/{campaign.pk}/edit/").status_code == 302


def test_schedule_and_cancel_from_the_page(marketing: User, client_for: Any) -> None:
    campaign = make_campaign(marketing, make_segment(marketing))
    web = client_for(marketing)
    web.post(f"/campaigns/{campaign.pk}/schedule/", {"at": "2099-01-01T09:00"})
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED
    assert campaign.scheduled_at is not None
    assert campaign.scheduled_at.year == 2099
    web.post(f"/campaigns/{campaign.pk}/cancel/")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED


def test_bad_campaign_template_is_shown_on_the_form(marketing: User, client_for: Any) -> None:
    segment = make_segment(marketing)
    page = client_for(marketing).post(
        "/campaigns/new/",
        {
            "name": "X", "segment": segment.pk, "subject": "Hi",
            "text_body": "{% load static %}", "attribution_days": "30",
        },
    )  # fmt: skip
    assert "is not allowed in campaigns" in page.content.decode()
    assert not Campaign.objects.exists()
