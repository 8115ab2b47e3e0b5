"""Settings pages as each role meets them: account, API tokens, users, teams, search, navigation."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.forms import Form
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from rapport.core.permissions import Role
from rapport.users import services
from rapport.users.models import ApiToken, Team, User
from rapport.web.navigation import SECTIONS
from tests.conftest import SmtpServer
from tests.factories import TEST_PASSWORD, TeamFactory, UserFactory, user_with_role

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase 42"
NOT_ADMINS = [role for role in Role.values if role != Role.ADMIN]
TAG = re.compile(r"<[^>]+>")


# --- helpers -----------------------------------------------------------------


def text_of(response: Any) -> str:
    """The page as a reader sees it: no tags, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(TAG.sub(" ", response.content.decode())).split())


def field_errors(response: Any, field: str) -> list[str]:
    """The error messages shown next to one input of the page's form."""
    page = response.content.decode()
    match = re.search(
        rf'<div class="field[^"]*has-error[^"]*">(?:(?!<div class="field).)*?name="{field}"'
        r'(?:(?!<div class="field).)*',
        page,
        re.S,
    )
    if match is None:
        return []
    return [
        html.unescape(error)
        for error in re.findall(r'<small class="error" role="alert">(.*?)</small>', match[0])
    ]


def form_errors(response: Any) -> str:
    """The errors shown above the form (not tied to one input)."""
    found = re.findall(
        r'<div class="form-errors" role="alert">(.*?)</div>', response.content.decode(), re.S
    )
    return " ".join(html.unescape(TAG.sub(" ", block)) for block in found)


def submitted(form: Form, **changes: Any) -> dict[str, Any]:
    """What a browser would send for ``form`` as rendered, with ``changes`` typed in."""
    data: dict[str, Any] = {}
    for field in form:
        value = field.value()
        if field.widget_type == "checkbox":
            if value:
                data[field.html_name] = "on"
        else:
            data[field.html_name] = "" if value is None else value
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)
        elif value is True:
            data[name] = "on"
        else:
            data[name] = value
    return data


def log_in(email: str, password: str) -> Client:
    browser = Client()
    response = browser.post(reverse("login"), {"username": email, "password": password})
    assert response.status_code == 302, text_of(response)
    return browser


def can_log_in(email: str, password: str) -> bool:
    browser = Client()
    browser.post(reverse("login"), {"username": email, "password": password})
    return browser.get(reverse("settings:account")).status_code == 200


def api_with(secret: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return api


# --- who may open what -------------------------------------------------------


@pytest.mark.parametrize("role", Role.values)
def test_account_and_tokens_open_for_every_role(
    role: str, user_of_role: Callable[[str], User], client_for: Any
) -> None:
    user = user_of_role(role)
    browser = client_for(user)
    account = browser.get(reverse("settings:account"))
    assert account.status_code == 200
    assert user.email in account.content.decode()
    assert f"Role: {user.get_role_display()}" in text_of(account)
    tokens = browser.get(reverse("settings:tokens"))
    assert tokens.status_code == 200
    assert "No tokens yet" in text_of(tokens)
    # Tabs for what only admins manage are shown to admins only.
    shows_admin_tabs = reverse("settings:users") in account.content.decode()
    assert shows_admin_tabs is (role == Role.ADMIN)


def admin_only_urls(sales: User, team: Team) -> list[str]:
    return [
        reverse("settings:users"),
        reverse("settings:user-new"),
        reverse("settings:user", args=[sales.pk]),
        reverse("settings:user-password-link", args=[sales.pk]),
        reverse("settings:teams"),
        reverse("settings:team", args=[team.pk]),
    ]


@pytest.mark.parametrize("role", Role.values)
def test_users_and_teams_pages_are_for_admins_only(
    role: str,
    user_of_role: Callable[[str], User],
    client_for: Any,
    sales: User,
    team_north: Team,
    smtp_server: SmtpServer,
) -> None:
    browser = client_for(user_of_role(role))
    for url in admin_only_urls(sales, team_north):
        got = browser.get(url)
        if role == Role.ADMIN:
            expected = 405 if url.endswith("/password-link/") else 200
            assert got.status_code == expected, url
        else:
            assert got.status_code == 403, url
            assert "Not allowed" in text_of(got)
            # Posting what an admin would post changes nothing either.
            attempt = {
                "full_name": "Taken Over",
                "email": "takeover@example.com",
                "role": Role.ADMIN,
                "is_active": "on",
                "name": "Taken Over",
                "password": NEW_PASSWORD,
                "delete": "1" if url.startswith("/settings/teams/") else "",
            }
            assert browser.post(url, attempt).status_code == 403, url
    if role != Role.ADMIN:
        sales.refresh_from_db()
        assert (sales.role, sales.full_name) == (Role.SALES, "Sam Sales")
        assert Team.objects.filter(pk=team_north.pk, name="North").exists()
        assert not User.objects.filter(email="takeover@example.com").exists()
        assert smtp_server.messages == []


def test_anonymous_visitors_are_sent_to_log_in(
    client: Client, sales: User, team_north: Team
) -> None:
    urls = [
        reverse("settings:account"),
        reverse("settings:tokens"),
        *admin_only_urls(sales, team_north),
        reverse("search:results") + "?q=sam",
        reverse("home"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next="), url
    token = services.create_api_token(actor=sales, name="x").token
    response = client.post(reverse("settings:revoke-token", args=[token.pk]))
    assert response["Location"].startswith(reverse("login"))
    token.refresh_from_db()
    assert token.revoked_at is None


# --- your account ------------------------------------------------------------


def test_profile_update_changes_name_and_email(client_for: Any, sales: User) -> None:
    browser = client_for(sales)
    response = browser.post(
        reverse("settings:account"),
        {"save_profile": "1", "full_name": " Samantha Sales ", "email": "Samantha@Example.com"},
        follow=True,
    )
    page = text_of(response)
    assert "Your profile is saved." in page
    assert "Samantha Sales" in page
    sales.refresh_from_db()
    assert (sales.full_name, sales.email) == ("Samantha Sales", "samantha@example.com")
    assert can_log_in("samantha@example.com", TEST_PASSWORD)


def test_profile_refuses_an_email_someone_else_uses(
    client_for: Any, sales: User, manager: User
) -> None:
    response = client_for(sales).post(
        reverse("settings:account"),
        {"save_profile": "1", "full_name": "Sam Sales", "email": manager.email.upper()},
    )
    assert response.status_code == 200
    assert field_errors(response, "email") == [
        f"Another user already signs in with {manager.email}."
    ]
    sales.refresh_from_db()
    assert sales.email == "sales@example.com"


def test_password_change_needs_the_old_password(client_for: Any, sales: User) -> None:
    response = client_for(sales).post(
        reverse("settings:account"),
        {
            "change_password": "1",
            "old_password": "not my password",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 200
    assert field_errors(response, "old_password") == [
        "Your old password was entered incorrectly. Please enter it again."
    ]
    assert can_log_in(sales.email, TEST_PASSWORD)
    assert not can_log_in(sales.email, NEW_PASSWORD)


def test_after_a_password_change_this_session_carries_on(sales: User) -> None:
    browser = log_in(sales.email, TEST_PASSWORD)
    elsewhere = log_in(sales.email, TEST_PASSWORD)
    response = browser.post(
        reverse("settings:account"),
        {
            "change_password": "1",
            "old_password": TEST_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
        follow=True,
    )
    assert "Your password is changed." in text_of(response)
    assert browser.get(reverse("settings:account")).status_code == 200
    # Sessions elsewhere end: whoever knew the old password is out.
    assert elsewhere.get(reverse("settings:account")).status_code == 302
    assert can_log_in(sales.email, NEW_PASSWORD)
    assert not can_log_in(sales.email, TEST_PASSWORD)


# --- API tokens --------------------------------------------------------------


def test_a_new_token_is_shown_once_then_only_its_prefix(client_for: Any, sales: User) -> None:
    browser = client_for(sales)
    created = browser.post(
        reverse("settings:tokens"), {"name": "ERP sync", "expires_in_days": "90"}, follow=True
    )
    page = created.content.decode()
    shown = re.findall(r'value="(rapport_[0-9a-f]+_[^"]+)"', page)
    assert len(shown) == 1
    secret = shown[0]
    assert "Copy it now" in text_of(created)
    assert created["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(user=sales)
    assert token.name == "ERP sync"
    assert secret not in token.digest  # only a fingerprint is kept
    assert api_with(secret).get("/api/v1/me").json()["email"] == sales.email

    again = browser.get(reverse("settings:tokens"))
    assert secret not in again.content.decode()
    assert "Copy it now" not in text_of(again)
    listed = text_of(again)
    assert f"ERP sync rapport_{token.prefix}_…" in listed
    # The random part may itself hold "_", so it is cut after the known prefix.
    assert secret.removeprefix(f"rapport_{token.prefix}_") not in again.content.decode()
    assert ApiToken.objects.filter(user=sales).count() == 1


def test_a_revoked_token_stops_working_on_the_api(client_for: Any, sales: User) -> None:
    issued = services.create_api_token(actor=sales, name="Zapier")
    api = api_with(issued.secret)
    assert api.get("/api/v1/me").status_code == 200

    browser = client_for(sales)
    response = browser.post(reverse("settings:revoke-token", args=[issued.token.pk]), follow=True)
    page = text_of(response)
    assert "Token “Zapier” is revoked" in page
    assert "revoked" in page.split("Zapier", 2)[-1]
    refused = api.get("/api/v1/me")
    assert refused.status_code == 401


def test_revoking_someone_elses_token_is_not_found(
    client_for: Any, sales: User, sales_south: User
) -> None:
    theirs = services.create_api_token(actor=sales_south, name="theirs")
    response = client_for(sales).post(reverse("settings:revoke-token", args=[theirs.token.pk]))
    assert response.status_code == 404
    theirs.token.refresh_from_db()
    assert theirs.token.revoked_at is None
    assert api_with(theirs.secret).get("/api/v1/me").status_code == 200
    # ... and their token does not appear on my page.
    assert "theirs" not in text_of(client_for(sales).get(reverse("settings:tokens")))


def test_revoking_needs_a_post(client_for: Any, sales: User) -> None:
    token = services.create_api_token(actor=sales, name="mine").token
    assert (
        client_for(sales).get(reverse("settings:revoke-token", args=[token.pk])).status_code == 405
    )
    token.refresh_from_db()
    assert token.revoked_at is None


# --- users (admin) -----------------------------------------------------------


def new_user_form(**fields: str) -> dict[str, str]:
    return {
        "full_name": "Nia New",
        "email": "nia.new@example.com",
        "role": Role.SALES,
        "team": "",
        "password": "",
        **fields,
    }


def test_admin_adds_a_user_with_a_password_who_can_then_log_in(
    client_for: Any, admin: User, team_north: Team
) -> None:
    response = client_for(admin).post(
        reverse("settings:user-new"),
        new_user_form(password=NEW_PASSWORD, team=str(team_north.pk), email="Nia.New@Example.com"),
        follow=True,
    )
    assert "Nia New is added. They can sign in with the password you set." in text_of(response)
    newcomer = User.objects.get(email="nia.new@example.com")
    assert (newcomer.role, newcomer.team) == (Role.SALES, team_north)
    assert can_log_in("nia.new@example.com", NEW_PASSWORD)


def test_a_weak_password_is_refused_next_to_the_password(client_for: Any, admin: User) -> None:
    response = client_for(admin).post(
        reverse("settings:user-new"), new_user_form(password="12345678")
    )
    assert response.status_code == 200
    errors = field_errors(response, "password")
    assert "This password is too common." in errors
    assert not User.objects.filter(email="nia.new@example.com").exists()


def test_admin_adds_a_user_without_password_who_gets_a_welcome_email(
    client_for: Any,
    admin: User,
    smtp_server: SmtpServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(admin).post(reverse("settings:user-new"), new_user_form())
    assert response.status_code == 302
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail["To"] == "nia.new@example.com"
    assert mail["Subject"] == "Your Rapport account is ready"
    assert "/password-reset/" in smtp_server.bodies()[0]
    assert not User.objects.get(email="nia.new@example.com").has_usable_password()


def test_adding_a_user_without_password_needs_email_configured(
    client_for: Any, admin: User, settings: Any
) -> None:
    settings.EMAIL_CONFIGURED = False
    response = client_for(admin).post(reverse("settings:user-new"), new_user_form())
    assert response.status_code == 200
    assert field_errors(response, "password") == [
        "E-mail is not configured (EMAIL_URL), so set a password for them."
    ]
    assert not User.objects.filter(email="nia.new@example.com").exists()


def test_adding_a_user_with_a_taken_email_is_refused(
    client_for: Any, admin: User, sales: User
) -> None:
    response = client_for(admin).post(
        reverse("settings:user-new"),
        new_user_form(email="SALES@example.com", password=NEW_PASSWORD),
    )
    assert response.status_code == 200
    assert field_errors(response, "email") == [
        "Another user already signs in with sales@example.com."
    ]
    assert User.objects.filter(email="sales@example.com").count() == 1


def test_the_last_active_admin_cannot_be_demoted(client_for: Any, admin: User) -> None:
    # An admin who is deactivated does not count.
    user_with_role(Role.ADMIN, email="gone@example.com", full_name="Gone Admin", is_active=False)
    browser = client_for(admin)
    url = reverse("settings:user", args=[admin.pk])
    form = browser.get(url).context["form"]
    response = browser.post(url, submitted(form, role=Role.MANAGER))
    assert response.status_code == 200
    assert field_errors(response, "role") == ["Rapport needs at least one active admin."]
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN


def test_the_last_active_admin_cannot_be_deactivated(client_for: Any, admin: User) -> None:
    # A superuser with another role may manage users, but is not an admin role holder.
    superuser = user_with_role(
        Role.MANAGER, email="root@example.com", full_name="Root", is_superuser=True
    )
    browser = client_for(superuser)
    url = reverse("settings:user", args=[admin.pk])
    response = browser.post(url, submitted(browser.get(url).context["form"], is_active=False))
    assert response.status_code == 200
    assert "Rapport needs at least one active admin." in text_of(response)
    admin.refresh_from_db()
    assert admin.is_active


def test_an_admin_cannot_deactivate_themselves(client_for: Any, admin: User) -> None:
    user_with_role(Role.ADMIN, email="other@example.com", full_name="Other Admin")
    browser = client_for(admin)
    url = reverse("settings:user", args=[admin.pk])
    response = browser.post(url, submitted(browser.get(url).context["form"], is_active=False))
    assert response.status_code == 200
    assert field_errors(response, "is_active") == ["You cannot deactivate yourself."]
    admin.refresh_from_db()
    assert admin.is_active


def test_an_admin_who_steps_down_lands_on_their_account(client_for: Any, admin: User) -> None:
    user_with_role(Role.ADMIN, email="other@example.com", full_name="Other Admin")
    browser = client_for(admin)
    url = reverse("settings:user", args=[admin.pk])
    response = browser.post(url, submitted(browser.get(url).context["form"], role=Role.MANAGER))
    assert response["Location"] == reverse("settings:account")
    assert browser.get(reverse("settings:users")).status_code == 403


def test_a_stale_edit_is_refused_and_overwrites_nothing(
    client_for: Any, admin: User, sales: User
) -> None:
    other_admin = user_with_role(Role.ADMIN, email="bea@example.com", full_name="Bea Boss")
    first, second = client_for(admin), client_for(other_admin)
    url = reverse("settings:user", args=[sales.pk])
    first_form = first.get(url).context["form"]
    second_form = second.get(url).context["form"]

    saved = first.post(url, submitted(first_form, full_name="Sam Senior"))
    assert saved.status_code == 302

    stale = second.post(url, submitted(second_form, role=Role.MANAGER))
    assert stale.status_code == 200
    assert "was changed by someone else since you opened it" in form_errors(stale)
    sales.refresh_from_db()
    assert (sales.full_name, sales.role) == ("Sam Senior", Role.SALES)

    # After reloading, the second admin's change goes through.
    fresh = second.get(url).context["form"]
    assert second.post(url, submitted(fresh, role=Role.MANAGER)).status_code == 302
    sales.refresh_from_db()
    assert (sales.full_name, sales.role) == ("Sam Senior", Role.MANAGER)


def test_history_shows_who_changed_the_role_from_what_to_what(
    client_for: Any, admin: User, sales: User, team_south: Team
) -> None:
    browser = client_for(admin)
    url = reverse("settings:user", args=[sales.pk])
    form = browser.get(url).context["form"]
    browser.post(url, submitted(form, role=Role.MANAGER, team=str(team_south.pk)))
    log_in(sales.email, TEST_PASSWORD)  # signing in stamps last_login: not a change to show
    page = text_of(browser.get(url))
    history = page.split("History", 1)[1]
    assert history.count("Changed") == 1
    assert "Changed" in history.split("by Ada Admin")[0]
    assert "Role: Sales → Manager" in history
    assert "Team: North → South" in history
    assert "Created" in history


def test_a_password_link_for_a_deactivated_user_is_refused(
    client_for: Any, admin: User, sales: User, smtp_server: SmtpServer
) -> None:
    User.objects.filter(pk=sales.pk).update(is_active=False)
    response = client_for(admin).post(
        reverse("settings:user-password-link", args=[sales.pk]), follow=True
    )
    assert "Sam Sales is deactivated; activate them first" in text_of(response)
    assert smtp_server.messages == []


def test_a_password_link_goes_to_the_user(
    client_for: Any, admin: User, sales: User, smtp_server: SmtpServer
) -> None:
    response = client_for(admin).post(
        reverse("settings:user-password-link", args=[sales.pk]), follow=True
    )
    assert f"A link to choose a password was sent to {sales.email}." in text_of(response)
    assert [message["To"] for message in smtp_server.messages] == [sales.email]


# --- teams (admin) -----------------------------------------------------------


def test_admin_creates_renames_and_deletes_a_team(client_for: Any, admin: User) -> None:
    browser = client_for(admin)
    created = browser.post(
        reverse("settings:teams"),
        {"name": " Key Accounts ", "description": "Big ones"},
        follow=True,
    )
    assert "Team Key Accounts is created." in text_of(created)
    team = Team.objects.get(name="Key Accounts")

    url = reverse("settings:team", args=[team.pk])
    form = browser.get(url).context["form"]
    renamed = browser.post(url, submitted(form, name="Strategic Accounts"), follow=True)
    assert "Team Strategic Accounts is saved." in text_of(renamed)
    team.refresh_from_db()
    assert team.name == "Strategic Accounts"

    deleted = browser.post(url, {"delete": "1"}, follow=True)
    assert "Team Strategic Accounts is deleted." in text_of(deleted)
    assert not Team.objects.filter(pk=team.pk).exists()


def test_a_team_name_is_unique_whatever_its_case(
    client_for: Any, admin: User, team_north: Team, team_south: Team
) -> None:
    browser = client_for(admin)
    response = browser.post(reverse("settings:teams"), {"name": "NORTH", "description": ""})
    assert response.status_code == 200
    assert field_errors(response, "name") == ["A team called NORTH already exists."]
    assert Team.objects.filter(name__iexact="north").count() == 1

    url = reverse("settings:team", args=[team_south.pk])
    form = browser.get(url).context["form"]
    renamed = browser.post(url, submitted(form, name="north"))
    assert field_errors(renamed, "name") == ["A team called north already exists."]
    team_south.refresh_from_db()
    assert team_south.name == "South"


def test_a_team_with_members_cannot_be_deleted(
    client_for: Any, admin: User, sales: User, team_north: Team
) -> None:
    response = client_for(admin).post(
        reverse("settings:team", args=[team_north.pk]), {"delete": "1"}, follow=True
    )
    assert "North still has 1 member(s); move them to another team first." in text_of(response)
    assert Team.objects.filter(pk=team_north.pk).exists()
    sales.refresh_from_db()
    assert sales.team == team_north


# --- the users list ----------------------------------------------------------


def names_on(response: Any) -> list[str]:
    return [
        html.unescape(name)
        for name in re.findall(
            r'<td><a href="/settings/users/\d+/">([^<]*)</a></td>', response.content.decode()
        )
    ]


def test_users_list_filters(
    client_for: Any,
    admin: User,
    sales: User,
    sales_south: User,
    manager: User,
    team_north: Team,
) -> None:
    User.objects.filter(pk=sales_south.pk).update(is_active=False)
    browser = client_for(admin)
    url = reverse("settings:users")
    assert names_on(browser.get(url)) == ["Ada Admin", "Max Manager", "Sam Sales", "Sia South"]
    assert names_on(browser.get(url, {"q": "sam"})) == ["Sam Sales"]
    assert names_on(browser.get(url, {"q": "SOUTH@example"})) == ["Sia South"]
    assert names_on(browser.get(url, {"role": Role.SALES})) == ["Sam Sales", "Sia South"]
    assert names_on(browser.get(url, {"team": team_north.pk})) == ["Max Manager", "Sam Sales"]
    assert names_on(browser.get(url, {"is_active": "false"})) == ["Sia South"]
    assert names_on(browser.get(url, {"is_active": "true", "role": Role.SALES})) == ["Sam Sales"]
    assert "No users match these filters." in text_of(browser.get(url, {"q": "nobody"}))


def test_users_list_answers_htmx_with_only_the_results(client_for: Any, admin: User) -> None:
    browser = client_for(admin)
    url = reverse("settings:users")
    partial = browser.get(url, {"q": "ada"}, headers={"HX-Request": "true"})
    body = partial.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="user-results">')
    assert names_on(partial) == ["Ada Admin"]
    full = browser.get(url, {"q": "ada"})
    assert "<html" in full.content.decode()
    assert 'id="user-results"' in full.content.decode()


def test_users_list_pages_walk_every_user_forwards_and_back(client_for: Any, admin: User) -> None:
    # Equal names, so pages must break ties by id without skipping or repeating anyone.
    for number in range(120):
        UserFactory(full_name=f"Person {number % 40:02d}", is_active=number % 7 != 0)
    expected = [
        name
        for name, _ in sorted(User.objects.filter(is_active=True).values_list("full_name", "pk"))
    ]
    assert len(expected) == 103
    browser = client_for(admin)
    url = reverse("settings:users")

    def follow(response: Any, label: str) -> Any:
        found = re.search(rf'<a href="(\?[^"]*)">{label}</a>', response.content.decode())
        if found is None:
            return None
        link = html.unescape(found[1])
        assert "is_active=true" in link  # the filters travel with the cursor
        return browser.get(url + link)

    forwards = []
    response = browser.get(url, {"is_active": "true"})
    assert follow(response, "← Previous") is None
    while response is not None:
        forwards.append(names_on(response))
        last, response = response, follow(response, "Next →")
    assert [len(page) for page in forwards] == [50, 50, 3]
    assert [name for page in forwards for name in page] == expected

    backwards = []
    response = last
    while response is not None:
        backwards.append(names_on(response))
        response = follow(response, "← Previous")
    assert backwards == forwards[::-1]


def test_users_list_queries_do_not_grow_with_users(client_for: Any, admin: User) -> None:
    team = TeamFactory(name="Crowd")
    browser = client_for(admin)
    url = reverse("settings:users")

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert browser.get(url).status_code == 200
        return len(queries)

    UserFactory.create_batch(2, team=team)
    browser.get(url)  # warm up the session
    few = count_queries()
    UserFactory.create_batch(57, team=team)
    many = count_queries()
    assert len(names_on(browser.get(url))) == 50
    assert many == few


# --- global search -----------------------------------------------------------


def test_admin_finds_users_and_teams(
    client_for: Any, admin: User, sales: User, team_north: Team
) -> None:
    browser = client_for(admin)
    by_name = text_of(browser.get(reverse("search:results"), {"q": "Sa"}))
    assert "Sam Sales" in by_name
    assert "sales@example.com" in by_name
    by_team = browser.get(reverse("search:results"), {"q": "nor"})
    assert "North" in text_of(by_team)
    assert reverse("settings:team", args=[team_north.pk]) in by_team.content.decode()


def test_search_shows_users_only_to_those_who_manage_them(
    client_for: Any, sales: User, manager: User, team_north: Team
) -> None:
    page = client_for(sales).get(reverse("search:results"), {"q": "Max"})
    assert page.status_code == 200
    assert "Nothing found for “Max”." in text_of(page)
    assert "/settings/users/" not in page.content.decode()
    teams = client_for(sales).get(reverse("search:results"), {"q": "North"})
    assert "/settings/teams/" not in teams.content.decode()


def test_search_answers_htmx_with_only_the_dropdown(client_for: Any, admin: User) -> None:
    response = client_for(admin).get(
        reverse("search:results"), {"q": "Ada"}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="global-search-results"')
    assert "Ada Admin" in body


def test_a_one_character_search_asks_for_more(client_for: Any, admin: User) -> None:
    browser = client_for(admin)
    dropdown = browser.get(reverse("search:results"), {"q": "A"}, headers={"HX-Request": "true"})
    assert "Type at least 2 characters." in text_of(dropdown)
    assert "Ada Admin" not in text_of(dropdown)
    page = browser.get(reverse("search:results"), {"q": "A"})
    assert "Type at least 2 characters." in text_of(page)


# --- navigation --------------------------------------------------------------


def sidebar_of(response: Any) -> str:
    sidebar = re.search(r'<nav class="sidebar".*?</nav>', response.content.decode(), re.S)
    assert sidebar is not None
    return sidebar[0]


def nav_links(response: Any) -> list[tuple[str, str]]:
    return [
        (url, " ".join(TAG.sub(" ", label).split()))
        for url, label in re.findall(
            r'<a href="([^"]+)"[^>]*>(.*?)</a>', sidebar_of(response), re.S
        )
    ]


def marked_current(response: Any) -> list[str]:
    """The navigation labels marked as the section the page belongs to."""
    return [
        " ".join(TAG.sub(" ", label).split())
        for attributes, label in re.findall(
            r'<a href="[^"]+"([^>]*)>(.*?)</a>', sidebar_of(response), re.S
        )
        if 'aria-current="page"' in attributes
    ]


@pytest.mark.parametrize("role", Role.values)
def test_navigation_shows_only_sections_that_open(
    role: str, user_of_role: Callable[[str], User], client_for: Any
) -> None:
    browser = client_for(user_of_role(role))
    links = nav_links(browser.get(reverse("settings:tokens")))
    labels = [label for _, label in links]
    assert labels[-1] == "Settings"
    assert len(labels) == len(set(labels)) <= len(SECTIONS)
    for url, label in links:
        opened = browser.get(url)
        assert opened.status_code == 200, label
        # The section you are in is marked, and only that one.
        assert marked_current(opened) == [label]


@pytest.mark.parametrize("role", Role.values)
def test_home_opens_the_first_section_the_user_may_see(
    role: str, user_of_role: Callable[[str], User], client_for: Any
) -> None:
    browser = client_for(user_of_role(role))
    response = browser.get(reverse("home"))
    assert response.status_code == 302
    first_url, _ = nav_links(browser.get(reverse("settings:account")))[0]
    assert response["Location"] == first_url
    assert browser.get(response["Location"]).status_code == 200
