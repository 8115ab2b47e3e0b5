"""The API skeleton as a client meets it: authentication, error bodies, OpenAPI, docs, health."""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError
from django.test import Client
from django.utils import timezone
from django.utils.crypto import get_random_string
from rest_framework.test import APIClient

from rapport.users import services
from rapport.users.models import ApiToken, Team, User


@pytest.fixture
def api_for() -> Callable[[User], APIClient]:
    """conftest's ``api_for``, minus the tokens ``authenticate_token`` cannot read yet.

    It splits secrets on every "_", which about half of all token_urlsafe()
    secrets contain (reported with the fix: ``split("_", 2)``); until that is
    fixed, these tests take a token without one so that they do not fail at random.
    """

    def make(user: User) -> APIClient:
        return bearer(issue(user).secret)

    return make


def issue(user: User, *, underscore_in_secret: bool | None = None) -> services.IssuedToken:
    """A new token; ``underscore_in_secret`` asks for a random part with or without "_"."""
    issued = services.create_api_token(actor=user, name="tests")
    while underscore_in_secret is not None and (
        (issued.secret.count("_") != 2) is not underscore_in_secret
    ):
        issued.token.delete()
        issued = services.create_api_token(actor=user, name="tests")
    return issued


def bearer(secret: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return api


def assert_error_body(response: Any, status: int) -> str:
    """The one error shape: ``{"detail": str, "errors": {}}``; returns the detail."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert body["errors"] == {}
    return str(body["detail"])


def assert_unauthorised(response: Any) -> str:
    detail = assert_error_body(response, 401)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    return detail


# --- token authentication ------------------------------------------------------------


@pytest.mark.django_db
def test_a_valid_token_authenticates_and_is_stamped_as_used(sales: User) -> None:
    issued = issue(sales)
    assert issued.token.last_used_at is None
    response = bearer(issued.secret).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["email"] == "sales@example.com"
    assert response.json()["role"] == "sales"
    used = ApiToken.objects.get(pk=issued.token.pk).last_used_at
    assert used is not None
    assert timezone.now() - used < timedelta(minutes=5)


@pytest.mark.django_db
def test_every_issued_token_authenticates(sales: User) -> None:
    issued = issue(sales, underscore_in_secret=True)
    assert bearer(issued.secret).get("/api/v1/me").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer rapport_0123456789ab_notthesecret",
        "Bearer nonsense",
        "Bearer ",
        "Bearer two words",
        "bearer rapport_0123456789ab_notthesecret",
    ],
)
def test_a_wrong_token_is_401(sales: User, authorization: str) -> None:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=authorization)
    assert_unauthorised(api.get("/api/v1/me"))


@pytest.mark.django_db
def test_a_token_with_a_wrong_secret_but_a_real_prefix_is_401(sales: User) -> None:
    issued = issue(sales)
    forged = issued.secret[:-4] + ("AAAA" if not issued.secret.endswith("AAAA") else "BBBB")
    detail = assert_unauthorised(bearer(forged).get("/api/v1/me"))
    assert "invalid, expired or revoked" in detail
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at is None


@pytest.mark.django_db
def test_a_revoked_token_is_401(sales: User) -> None:
    issued = issue(sales)
    api = bearer(issued.secret)
    assert api.get("/api/v1/me").status_code == 200
    services.revoke_api_token(actor=sales, token=issued.token)
    assert_unauthorised(api.get("/api/v1/me"))


@pytest.mark.django_db
def test_an_expired_token_is_401(sales: User) -> None:
    issued = issue(sales)
    ApiToken.objects.filter(pk=issued.token.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert_unauthorised(bearer(issued.secret).get("/api/v1/me"))


@pytest.mark.django_db
def test_a_token_of_a_deactivated_user_is_401(admin: User, sales: User) -> None:
    issued = issue(sales)
    api = bearer(issued.secret)
    assert api.get("/api/v1/users").status_code == 200
    services.update_user(actor=admin, user=sales, changes={"is_active": False})
    assert_unauthorised(api.get("/api/v1/users"))
    assert_unauthorised(api.post("/api/v1/teams", {"name": "Sneaky"}))
    assert not Team.objects.filter(name="Sneaky").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/me"),
        ("get", "/api/v1/users"),
        ("get", "/api/v1/users/1"),
        ("post", "/api/v1/users"),
        ("patch", "/api/v1/teams/1"),
        ("delete", "/api/v1/teams/1"),
    ],
)
def test_anonymous_requests_are_401_with_the_error_shape(method: str, url: str) -> None:
    response = getattr(APIClient(), method)(url)
    detail = assert_unauthorised(response)
    assert "credentials were not provided" in detail


# --- session authentication (the browser) ----------------------------------------------


@pytest.mark.django_db
def test_a_signed_in_browser_reads_the_api_with_its_session(client_for: Any, sales: User) -> None:
    response = client_for(sales).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["email"] == "sales@example.com"


@pytest.mark.django_db
def test_a_browser_write_needs_the_csrf_token(admin: User) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin)
    refused = browser.post("/api/v1/teams", {"name": "Forged"}, content_type="application/json")
    detail = assert_error_body(refused, 403)
    assert "CSRF" in detail
    assert not Team.objects.filter(name="Forged").exists()

    secret = get_random_string(32, string.ascii_letters + string.digits)
    browser.cookies[settings.CSRF_COOKIE_NAME] = secret
    accepted = browser.post(
        "/api/v1/teams", {"name": "Real"}, content_type="application/json", HTTP_X_CSRFTOKEN=secret
    )
    assert accepted.status_code == 201, accepted.content
    assert Team.objects.filter(name="Real").exists()


@pytest.mark.django_db
def test_token_clients_need_no_csrf_token(api_for: Any, admin: User) -> None:
    api = api_for(admin)
    api.enforce_csrf_checks = True
    assert api.post("/api/v1/teams", {"name": "Scripted"}).status_code == 201


# --- error bodies ------------------------------------------------------------------------


@pytest.mark.django_db
def test_other_errors_have_the_same_shape(api_for: Any, read_only: User, admin: User) -> None:
    api = api_for(read_only)
    assert_error_body(api.get("/api/v1/users/999999"), 404)
    assert_error_body(api.get("/api/v1/users/not-a-number"), 404)
    assert_error_body(api.post("/api/v1/teams", {"name": "Nope"}), 403)
    admin_api = api_for(admin)
    assert "DELETE" in assert_error_body(admin_api.delete(f"/api/v1/users/{read_only.pk}"), 405)
    malformed = admin_api.generic(
        "POST", "/api/v1/teams", "{not json", content_type="application/json"
    )
    assert "JSON parse error" in assert_error_body(malformed, 400)


# --- OpenAPI -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "accept"),
    [("?format=json", None), ("", "application/json"), ("", "application/vnd.oai.openapi+json")],
)
def test_the_schema_is_openapi_3_json(
    client_for: Any, read_only: User, query: str, accept: str | None
) -> None:
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = client_for(read_only).get(f"/api/v1/schema/{query}", **headers)
    assert response.status_code == 200
    assert "json" in response["Content-Type"]
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Rapport API"
    for path in (
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/api/v1/teams",
        "/api/v1/teams/{id}",
        "/api/v1/me",
        "/api/v1/health",
    ):
        assert path in schema["paths"], path
    bearer_scheme = schema["components"]["securitySchemes"]["apiToken"]
    assert (bearer_scheme["type"], bearer_scheme["scheme"]) == ("http", "bearer")
    users_list = schema["paths"]["/api/v1/users"]["get"]
    assert {"apiToken": []} in users_list["security"]
    assert {"limit", "cursor", "ordering"} <= {p["name"] for p in users_list["parameters"]}
    patch = schema["paths"]["/api/v1/users/{id}"]["patch"]
    assert "If-Match" in {p["name"] for p in patch["parameters"] if p["in"] == "header"}
    error = patch["responses"]["412"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}
    assert set(schema["components"]["schemas"]["Error"]["properties"]) == {"detail", "errors"}
    assert schema["paths"]["/api/v1/health"]["get"]["security"] == [{}]
    assert "503" in schema["paths"]["/api/v1/health"]["get"]["responses"]


@pytest.mark.django_db
def test_the_schema_validates_without_warnings(tmp_path: Any) -> None:
    target = tmp_path / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert target.read_text().startswith("openapi: 3.")


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str | None] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self.scripts.append(values.get("src"))
        elif tag == "link" and values.get("href"):
            self.links.append(str(values["href"]))


@pytest.mark.django_db
def test_the_docs_page_uses_local_assets_and_no_inline_script(
    client_for: Any, read_only: User
) -> None:
    browser = client_for(read_only)
    page = browser.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert not re.search(r"https?://", html), "the docs page must not load anything from a CDN"
    assets = _Assets()
    assets.feed(html)
    assert assets.scripts, "Swagger UI scripts are missing"
    assert None not in assets.scripts, "an inline <script> would be blocked by the CSP"
    local = [src for src in assets.scripts if src and src.startswith("/static/")]
    own = [src for src in assets.scripts if src and src.startswith("/api/v1/docs/?")]
    assert len(local) + len(own) == len(assets.scripts)
    assert all(href.startswith("/static/") for href in assets.links)
    # the site's CSP is on the page and allows no inline or eval'd script
    policy = page["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", policy)
    assert script_src is not None
    assert "'self'" in script_src.group(1)
    assert "unsafe-inline" not in script_src.group(1)
    assert "unsafe-eval" not in script_src.group(1)
    # every asset answers
    for src in local:
        assert browser.get(src).status_code == 200, src
    [script_url] = own
    script = browser.get(script_url)
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    body = script.content.decode()
    assert "SwaggerUIBundle(" in body
    assert "/api/v1/schema/" in body
    assert not re.search(r"https?://", body)


# --- health --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_health_needs_no_login_and_says_ok() -> None:
    response = APIClient().get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("status", "database", "queue")} == {
        "status": "ok",
        "database": "ok",
        "queue": "ok",
    }
    assert "worker_last_seen_seconds" in body


class _DeadConnection:
    vendor = "postgresql"

    def cursor(self) -> Any:
        raise OperationalError('connection to server at "db.internal", port 5432 failed')


@pytest.mark.django_db
def test_health_names_database_url_when_the_database_fails(monkeypatch: Any) -> None:
    monkeypatch.setattr("rapport.core.health.connections", {"default": _DeadConnection()})
    response = APIClient().get("/api/v1/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert "DATABASE_URL" in body["database"]
    assert "connection to server" in body["database"]
    assert body["queue"] == "ok"


def _queue_down() -> int:
    raise ConnectionError("Connection refused")


@pytest.mark.django_db
def test_health_names_the_queue_setting_when_the_queue_fails(
    monkeypatch: Any, settings: Any
) -> None:
    from huey.contrib.djhuey import HUEY

    monkeypatch.setattr(HUEY, "pending_count", _queue_down)
    settings.REDIS_URL = None
    response = APIClient().get("/api/v1/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert body["database"] == "ok"
    assert "RAPPORT_DATA_DIR" in body["queue"]
    assert "Connection refused" in body["queue"]

    settings.REDIS_URL = "redis://:s3cret@redis.internal:6379/0"
    body = APIClient().get("/api/v1/health").json()
    assert "REDIS_URL" in body["queue"]
    assert "redis.internal" in body["queue"]
    assert "s3cret" not in body["queue"]
