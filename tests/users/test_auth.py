"""Signing in and out, lockout, cookies and password resets, as a user meets them."""

from __future__ import annotations

import re
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import URLPattern, reverse

from rapport.core.permissions import Role
from rapport.users import services
from rapport.users import urls as settings_urls
from rapport.users.models import User
from tests.conftest import SmtpServer

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase 42"
WRONG_PASSWORD = "not the password"
LINK = re.compile(r"https?://[^/\s]+(/password-reset/[^/\s]+/[^/\s]+/)")


def log_in(client: Client, email: str, password: str, **extra: str) -> Any:
    return client.post(reverse("login"), {"username": email, "password": password, **extra})


def is_signed_in(client: Client) -> bool:
    """Whether the client's session opens a page only signed-in users see."""
    return client.get(reverse("settings:account")).status_code == 200


def set_cookie_header(response: Any, name: str) -> str:
    assert name in response.cookies, f"{name} was not set on {response.request['PATH_INFO']}"
    cookie: SimpleCookie = response.cookies
    return cookie[name].output()


def reset_link_in(smtp_server: SmtpServer) -> str:
    """The path of the one password link in the one e-mail the server received."""
    assert len(smtp_server.messages) == 1, smtp_server.bodies()
    found = LINK.findall(smtp_server.bodies()[0])
    assert len(found) == 1, smtp_server.bodies()[0]
    return str(found[0])


def choose_password_via(client: Client, link: str, password: str) -> Any:
    """Open the e-mailed link, then submit the new password twice, as the form asks."""
    opened = client.get(link, follow=True)
    assert opened.status_code == 200
    assert b"Choose a new password" in opened.content
    set_password_url = opened.redirect_chain[-1][0]
    return client.post(
        set_password_url, {"new_password1": password, "new_password2": password}, follow=True
    )


# --- signing in --------------------------------------------------------------


def test_login_page_renders(client: Client) -> None:
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Log in</h1>" in html
    assert 'name="username"' in html
    assert 'type="password"' in html
    assert reverse("password_reset") in html


@pytest.mark.parametrize("role", Role.values)
def test_login_by_email_in_any_case_lands_on_a_page_the_user_may_see(
    client: Client, user_of_role: Callable[[str], User], password: str, role: str
) -> None:
    user = user_of_role(role)
    response = log_in(client, f"  {user.email.upper()} ", password)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")

    landed = client.get(reverse("home"), follow=True)
    assert landed.status_code == 200
    final_path = landed.redirect_chain[-1][0]
    assert not final_path.startswith(reverse("login"))
    assert user.full_name in landed.content.decode()


def test_login_goes_back_to_the_page_asked_for_but_never_off_site(
    client: Client, sales: User, password: str
) -> None:
    tokens = reverse("settings:tokens")
    assert log_in(client, sales.email, password, next=tokens)["Location"] == tokens

    other = Client()
    response = log_in(other, sales.email, password, next="https://evil.example/phish")
    assert response["Location"] == reverse("home")


def test_a_signed_in_user_opening_login_is_sent_on(client_for: Any, sales: User) -> None:
    assert client_for(sales).get(reverse("login"))["Location"] == reverse("home")


def test_wrong_password_shows_an_error_and_does_not_sign_in(client: Client, sales: User) -> None:
    response = log_in(client, sales.email, WRONG_PASSWORD)
    assert response.status_code == 200
    assert "Please enter a correct e-mail and password" in response.content.decode()
    assert not is_signed_in(client)


def test_deactivated_user_cannot_sign_in(client: Client, sales: User, password: str) -> None:
    User.objects.filter(pk=sales.pk).update(is_active=False)
    response = log_in(client, sales.email, password)
    assert response.status_code == 200
    assert not is_signed_in(client)


def test_too_many_wrong_passwords_lock_that_account_but_not_others(
    client: Client, sales: User, sales_south: User, password: str
) -> None:
    limit = django_settings.AXES_FAILURE_LIMIT
    assert limit == 5
    # Changing the case of the address does not buy more guesses.
    spellings = [sales.email, sales.email.upper(), sales.email.title()]
    for attempt in range(limit - 1):
        response = log_in(client, spellings[attempt % len(spellings)], WRONG_PASSWORD)
        assert response.status_code == 200
        assert "Please enter a correct e-mail and password" in response.content.decode()
    log_in(client, sales.email.capitalize(), WRONG_PASSWORD)  # the last allowed failure

    locked = log_in(client, sales.email.upper(), password)  # right password, but too late
    assert locked.status_code == 429
    html = locked.content.decode()
    assert "Too many failed attempts" in html
    minutes = int(django_settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert f"paused for {minutes} minutes" in html
    assert reverse("password_reset") in html
    assert not is_signed_in(client)

    colleague = log_in(client, sales_south.email, password)  # same browser, same address
    assert colleague.status_code == 302
    assert is_signed_in(client)


def test_logout_is_post_only_and_ends_the_session(client_for: Any, sales: User) -> None:
    client = client_for(sales)
    assert client.get(reverse("logout")).status_code == 405
    assert is_signed_in(client)

    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert not is_signed_in(client)


# --- cookies and CSRF --------------------------------------------------------


def test_session_and_csrf_cookies_are_secure(client: Client, sales: User, password: str) -> None:
    login_page = client.get(reverse("login"))
    assert "; Secure" in set_cookie_header(login_page, django_settings.CSRF_COOKIE_NAME)

    response = log_in(client, sales.email, password)
    assert response.status_code == 302
    session = set_cookie_header(response, django_settings.SESSION_COOKIE_NAME)
    assert "; Secure" in session
    assert "; HttpOnly" in session
    assert "; SameSite=Lax" in session
    csrf = set_cookie_header(response, django_settings.CSRF_COOKIE_NAME)  # rotated on login
    assert "; Secure" in csrf


def test_login_form_is_protected_against_csrf(sales: User, password: str) -> None:
    browser = Client(enforce_csrf_checks=True)
    assert log_in(browser, sales.email, password).status_code == 403
    assert not is_signed_in(browser)

    browser.get(reverse("login"))
    token = browser.cookies[django_settings.CSRF_COOKIE_NAME].value
    response = log_in(browser, sales.email, password, csrfmiddlewaretoken=token)
    assert response.status_code == 302
    assert is_signed_in(browser)


# --- every Settings page needs a signed-in user --------------------------------


def _settings_urls() -> list[str]:
    urls = []
    for pattern in settings_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        kwargs = dict.fromkeys(pattern.pattern.converters, 1)
        urls.append(reverse(f"settings:{pattern.name}", kwargs=kwargs))
    return urls


@pytest.mark.parametrize("url", _settings_urls())
def test_settings_pages_send_anonymous_visitors_to_login(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


# --- forgotten password ------------------------------------------------------


def test_password_reset_end_to_end(
    client: Client,
    client_for: Any,
    sales: User,
    admin: User,
    password: str,
    smtp_server: SmtpServer,
) -> None:
    form = client.get(reverse("password_reset"))
    assert form.status_code == 200
    assert 'name="email"' in form.content.decode()

    sent = client.post(reverse("password_reset"), {"email": sales.email.upper()}, follow=True)
    assert sent.redirect_chain[-1][0] == reverse("password_reset_done")
    assert "Check your e-mail" in sent.content.decode()

    link = reset_link_in(smtp_server)
    mail = smtp_server.messages[0]
    assert mail["To"] == sales.email
    assert mail["Subject"] == "Reset your Rapport password"

    done = choose_password_via(client, link, NEW_PASSWORD)
    assert done.redirect_chain[-1][0] == reverse("password_reset_complete")
    assert "Password set" in done.content.decode()
    assert not is_signed_in(client)  # post_reset_login is off

    assert log_in(Client(), sales.email, password).status_code == 200  # old one is refused
    assert log_in(Client(), sales.email, NEW_PASSWORD).status_code == 302

    again = client.get(link, follow=True)
    assert "This link no longer works" in again.content.decode()

    # The change is in the user's history, where an admin looks.
    history = client_for(admin).get(reverse("settings:user", args=[sales.pk]))
    assert "Password changed" in history.content.decode()


def test_invited_user_without_a_password_can_ask_for_a_new_link(
    client: Client, sales: User, smtp_server: SmtpServer
) -> None:
    sales.set_unusable_password()  # invited by e-mail; the welcome link expired
    sales.save(update_fields=["password"])

    client.post(reverse("password_reset"), {"email": sales.email})
    choose_password_via(client, reset_link_in(smtp_server), NEW_PASSWORD)
    assert log_in(Client(), sales.email, NEW_PASSWORD).status_code == 302


def test_deactivated_user_gets_no_reset_link(
    client: Client, sales: User, smtp_server: SmtpServer
) -> None:
    User.objects.filter(pk=sales.pk).update(is_active=False)
    response = client.post(reverse("password_reset"), {"email": sales.email})
    assert response["Location"] == reverse("password_reset_done")
    assert smtp_server.messages == []


def test_reset_form_refuses_a_weak_password_and_keeps_the_old_one(
    client: Client, sales: User, password: str, smtp_server: SmtpServer
) -> None:
    client.post(reverse("password_reset"), {"email": sales.email})
    refused = choose_password_via(client, reset_link_in(smtp_server), "12345678")
    assert refused.status_code == 200
    html = refused.content.decode()
    assert "This password is too common." in html
    assert log_in(Client(), sales.email, password).status_code == 302


def test_unknown_email_sees_the_same_page_and_nothing_is_sent(
    client: Client, sales: User, smtp_server: SmtpServer
) -> None:
    unknown = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    known = Client().post(reverse("password_reset"), {"email": sales.email})
    assert unknown.status_code == known.status_code == 302
    assert unknown["Location"] == known["Location"] == reverse("password_reset_done")
    assert [m["To"] for m in smtp_server.messages] == [sales.email]


def test_reset_without_email_configured_says_to_set_email_url(
    client: Client, sales: User, settings: Any
) -> None:
    settings.MAILERS = {"default": {"BACKEND": "rapport.core.mail.NotConfiguredBackend"}}
    settings.EMAIL_CONFIGURED = False

    page = client.get(reverse("password_reset"))
    assert page.status_code == 200
    assert "EMAIL_URL" in page.content.decode()

    for email in (sales.email, "nobody@example.com"):  # same answer either way
        response = client.post(reverse("password_reset"), {"email": email})
        assert response.status_code == 200
        html = response.content.decode()
        assert "E-mail is not configured" in html
        assert "EMAIL_URL" in html
        assert "Ask an administrator" in html


def test_reset_when_the_mail_server_refuses_says_so(
    client: Client, sales: User, smtp_server: SmtpServer
) -> None:
    smtp_server.refuse = True
    response = client.post(reverse("password_reset"), {"email": sales.email})
    assert response.status_code == 200
    html = response.content.decode()
    assert "The mail server did not accept the message" in html
    assert "451" in html
    assert smtp_server.messages == []


# --- new users ---------------------------------------------------------------


def test_new_user_without_password_is_welcomed_with_a_working_link(
    admin: User, smtp_server: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        newcomer = services.create_user(
            actor=admin,
            email="Nia.New@Example.com",
            full_name="Nia New",
            role=Role.SALES,
            password=None,
        )
    link = reset_link_in(smtp_server)
    mail = smtp_server.messages[0]
    assert mail["To"] == "nia.new@example.com"
    assert mail["Subject"] == "Your Rapport account is ready"
    assert django_settings.SITE_URL in smtp_server.bodies()[0]

    browser = Client()
    done = choose_password_via(browser, link, NEW_PASSWORD)
    assert "Password set" in done.content.decode()
    signed_in = log_in(browser, newcomer.email, NEW_PASSWORD)
    assert signed_in.status_code == 302
    assert is_signed_in(browser)
