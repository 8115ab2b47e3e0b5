"""The pages people use: the public answer page, the contact panel, the report, the forms."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from rapport.customers.choices import LifecycleStage
from rapport.satisfaction import links
from rapport.satisfaction.choices import InvitationStatus, SurveyKind
from rapport.satisfaction.models import Response, Survey, SurveyInvitation
from rapport.users.models import User
from tests.customers.factories import make_company, make_contact
from tests.satisfaction.factories import (
    answer,
    invite_one,
    make_survey,
    surveyable_contact,
)

pytestmark = pytest.mark.django_db


def _url(invitation: SurveyInvitation) -> str:
    return f"/survey/{links.token_for(invitation)}/"


# --- the public page ---------------------------------------------------------------


def test_the_public_page_shows_the_survey_and_nothing_else(admin: User) -> None:
    company = make_company(admin, name="Secret Industries")
    contact = surveyable_contact(
        admin,
        first_name="Greta",
        last_name="Hiddenname",
        emails=["greta.private@example.org"],
        phones=["+49 30 1234567"],
        companies=[(company, "Buyer")],
    )
    survey = make_survey(admin, kind=SurveyKind.CSAT, name="How was your delivery?")
    page = Client().get(_url(invite_one(survey, contact)))

    assert page.status_code == 200
    text = page.content.decode()
    assert "How was your delivery?" in text
    assert "Hello Greta," in text
    assert survey.expectation_question in text
    assert survey.performance_question in text
    for secret in ("Hiddenname", "greta.private", "1234567", "Secret Industries",
                   admin.email, admin.full_name, "/contacts/", "/api/", "logout"):  # fmt: skip
        assert secret not in text, secret
    assert page["Cache-Control"].startswith("max-age=0")


def test_a_customer_answers_from_the_link_once(admin: User) -> None:
    survey = make_survey(admin, kind=SurveyKind.NPS)
    contact = surveyable_contact(admin)
    url = _url(invite_one(survey, contact))
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token is not None

    sent = browser.post(url, {"score": "10", "comment": "Superb", "csrfmiddlewaretoken": token[1]})

    assert sent.status_code == 200
    assert "Thank you" in sent.content.decode()
    response = Response.objects.get(contact=contact)
    assert (response.score, response.nps_class, response.comment) == (10, "promoter", "Superb")
    again = browser.post(url, {"score": "1", "csrfmiddlewaretoken": token[1]})
    assert again.status_code == 409
    assert "already answered" in again.content.decode()
    reopened = Client().get(url)
    assert reopened.status_code == 200
    assert "already answered" in reopened.content.decode()
    assert "<form" not in reopened.content.decode()
    assert Response.objects.get(contact=contact).score == 10


def test_a_missing_answer_is_shown_on_the_page(admin: User) -> None:
    invitation = invite_one(make_survey(admin, kind=SurveyKind.CSAT), surveyable_contact(admin))
    page = Client().post(_url(invitation), {"expectation": "4"})
    assert page.status_code == 400
    assert "This field is required" in page.content.decode()
    assert not Response.objects.exists()


def test_bad_and_expired_links(admin: User) -> None:
    survey = make_survey(admin, link_valid_days=3)
    invitation = invite_one(survey, surveyable_contact(admin))
    assert Client().get("/survey/forged:token/").status_code == 404
    with mock.patch(
        "django.core.signing.time.time",
        return_value=(timezone.now() - timedelta(days=4)).timestamp(),
    ):
        old = links.token_for(invitation)
    page = Client().get(f"/survey/{old}/")
    assert page.status_code == 410
    assert "expired" in page.content.decode()


# --- the contact page and the timeline ---------------------------------------------


def test_answers_show_on_the_contact_page_and_timeline(admin: User, client_for: Any) -> None:
    contact = surveyable_contact(admin, lifecycle_stage=LifecycleStage.CUSTOMER)
    nps = make_survey(admin, name="Quarterly NPS")
    csat = make_survey(admin, kind=SurveyKind.CSAT, name="After delivery")
    answer(invite_one(nps, contact), score=10, comment="Lovely people")
    answer(invite_one(csat, contact), expectation=4, performance=2)

    text = client_for(admin).get(f"/contacts/{contact.pk}/").content.decode()

    panel = text[text.index('id="satisfaction-panel"') :]
    assert "Promoter" in panel
    assert "10 of 10" in panel
    assert "Dissatisfied" in panel
    assert "expected 4, got 2" in panel
    assert "Lovely people" in panel
    assert "Mark as evangelist" in panel
    assert "Quarterly NPS: Promoter (10 of 10)" in text  # the timeline


def test_marking_an_evangelist_from_the_contact_page(
    admin: User, sales: User, client_for: Any
) -> None:
    contact = surveyable_contact(admin, lifecycle_stage=LifecycleStage.CUSTOMER, owner=sales)
    answer(invite_one(make_survey(admin), contact), score=9)
    reply = client_for(sales).post(f"/surveys/evangelist/{contact.pk}/")
    assert reply.status_code == 302
    contact.refresh_from_db()
    assert contact.lifecycle_stage == LifecycleStage.EVANGELIST


def test_others_cannot_mark_an_evangelist_they_may_not_see(
    admin: User, sales_south: User, client_for: Any, sales: User
) -> None:
    contact = surveyable_contact(admin, lifecycle_stage=LifecycleStage.CUSTOMER, owner=sales)
    answer(invite_one(make_survey(admin), contact), score=9)
    assert client_for(sales_south).post(f"/surveys/evangelist/{contact.pk}/").status_code == 404
    contact.refresh_from_db()
    assert contact.lifecycle_stage == LifecycleStage.CUSTOMER


def test_the_panel_is_not_on_company_pages(admin: User, client_for: Any) -> None:
    company = make_company(admin, name="Acme")
    text = client_for(admin).get(f"/companies/{company.pk}/").content.decode()
    assert 'id="satisfaction-panel"' not in text


# --- the report --------------------------------------------------------------------


def test_the_report_shows_score_distribution_and_comments(admin: User, client_for: Any) -> None:
    survey = make_survey(admin, name="NPS 2026")
    for score, comment in ((10, "Great"), (9, ""), (7, ""), (3, "Slow answers")):
        answer(invite_one(survey, surveyable_contact(admin)), score=score, comment=comment)
    invite_one(survey, surveyable_contact(admin))  # not answered

    page = client_for(admin).get(f"/surveys/{survey.pk}/")

    text = page.content.decode()
    assert "NPS: 25" in text  # 2 promoters, 1 detractor of 4
    assert "4 answers" in text
    assert "queued 1" in text
    assert "Great" in text
    assert "Slow answers" in text
    charts = json.loads(re.search(r'id="insight-charts"[^>]*>(.*?)</script>', text, re.S)[1])
    assert set(charts) == {"survey-score", "survey-values", "survey-classes"}
    assert charts["survey-values"]["data"][0]["y"] == [0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1]
    assert charts["survey-classes"]["data"][0]["y"] == [1, 1, 2]
    assert charts["survey-score"]["data"][0]["y"] == [25.0]
    assert "'unsafe-inline'" in page["Content-Security-Policy"].split("style-src")[1]


def test_a_csat_report_scores_met_expectations(admin: User, client_for: Any) -> None:
    survey = make_survey(admin, kind=SurveyKind.CSAT, name="Delivery")
    for expectation, performance in ((3, 3), (2, 4), (5, 3), (4, 4)):
        answer(invite_one(survey, surveyable_contact(admin)), expectation=expectation,
               performance=performance)  # fmt: skip
    text = client_for(admin).get(f"/surveys/{survey.pk}/").content.decode()
    assert "Satisfied or delighted: 75%" in text


# --- forms -------------------------------------------------------------------------


def test_creating_and_editing_a_survey(marketing: User, client_for: Any) -> None:
    web = client_for(marketing)
    created = web.post(
        "/surveys/new/",
        {"name": "After delivery", "kind": "csat", "link_valid_days": "14",
         "after_delivery_days": "3", "is_active": "on"},
    )  # fmt: skip
    survey = Survey.objects.get(name="After delivery")
    assert created["Location"] == f"/surveys/{survey.pk}/"
    assert (survey.kind, survey.after_delivery_days, survey.after_ticket_days) == ("csat", 3, None)

    stale = survey.version
    web.post(f"/surveys/{survey.pk}/edit/", {"name": "Delivery CSAT", "link_valid_days": "14",
                                            "version": stale, "is_active": "on"})  # fmt: skip
    survey.refresh_from_db()
    assert survey.name == "Delivery CSAT"
    older = {"name": "Older edit", "link_valid_days": "14", "version": stale}
    conflict = web.post(f"/surveys/{survey.pk}/edit/", older)
    assert "changed by someone else" in conflict.content.decode()
    survey.refresh_from_db()
    assert survey.name == "Delivery CSAT"


def test_invite_by_ids_and_by_a_contact_filter(
    admin: User, marketing: User, client_for: Any
) -> None:
    survey = make_survey(admin)
    vip = [surveyable_contact(admin, tags=["vip"]) for _ in range(2)]
    no_consent = make_contact(admin, tags=["vip"])
    other = surveyable_contact(admin)
    web = client_for(marketing)

    tag = vip[0].tags.get()
    # What the contact list's address bar shows when filtered by that tag.
    query = f"lifecycle_stage=lead&tag={tag.pk}"
    by_filter = web.post("/surveys/invite/", {"survey": survey.pk, "contact_filter": query})
    text = by_filter.content.decode()
    assert "2 invited, 1 skipped" in text
    assert "has not agreed to surveys" in text
    assert {i.contact_id for i in SurveyInvitation.objects.all()} == {c.pk for c in vip}
    assert no_consent.pk not in {i.contact_id for i in SurveyInvitation.objects.all()}

    by_ids = web.post(
        "/surveys/invite/", {"survey": survey.pk, "contact_ids": f"{other.pk}, 999999"}
    )
    assert "No contact with id 999999" in by_ids.content.decode()
    bad = web.post("/surveys/invite/", {"survey": survey.pk, "contact_filter": "tag=nonsense"})
    assert "Not a valid contact filter" in bad.content.decode()
    web.post("/surveys/invite/", {"survey": survey.pk, "contact_ids": f"{other.pk}"})
    assert SurveyInvitation.objects.filter(contact=other, status=InvitationStatus.QUEUED).exists()


def test_an_invite_needs_contacts(marketing: User, client_for: Any) -> None:
    survey = make_survey(marketing)
    page = client_for(marketing).post("/surveys/invite/", {"survey": survey.pk})
    assert "Give contact ids or a contact list filter" in page.content.decode()
