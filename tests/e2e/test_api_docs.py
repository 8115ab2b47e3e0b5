"""The API documentation page (Swagger UI) works under the site's Content-Security-Policy."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from django.middleware.csp import ContentSecurityPolicyMiddleware
from django.test import Client, RequestFactory
from drf_spectacular.views import SpectacularSwaggerView
from playwright.sync_api import Page, expect

from rapport.users.models import User
from tests.e2e.conftest import BrowserLog
from tests.e2e.test_smoke import log_in

TAG = re.compile(r"<(script|style)\b([^>]*)>", re.IGNORECASE)
NONCE = re.compile(r"'nonce-([^']+)'")


def inline_tags_without_the_nonce(html: str, policy: str) -> list[str]:
    """Inline <script>/<style> tags whose nonce is missing or differs from the policy's."""
    allowed = NONCE.search(policy)
    assert allowed, f"no nonce in the policy: {policy}"
    problems = []
    for match in TAG.finditer(html):
        attributes = match[2]
        if match[1].lower() == "script" and "src=" in attributes:
            continue
        if f'nonce="{allowed[1]}"' not in attributes:
            problems.append(match[0])
    return problems


def test_api_docs_render_under_the_content_security_policy(
    page: Page,
    admin: User,
    password: str,
    browser_log: BrowserLog,
    screenshot: Callable[[Page, str], Path],
) -> None:
    log_in(page, admin.email, password)
    page.get_by_label("User menu").click()
    page.get_by_role("link", name="API documentation").click()
    expect(page).to_have_url("/api/v1/docs/")

    expect(page.get_by_role("heading", name="Rapport API")).to_be_visible(timeout=30_000)
    # Over a hundred paths: Swagger UI draws the sections near the screen first, so
    # open the contacts section by its link, as a reader following a link would.
    page.goto("/api/v1/docs/#/contacts")
    page.reload()
    expect(page.locator("#operations-tag-contacts")).to_contain_text("contacts", timeout=30_000)
    list_contacts = page.locator("#operations-contacts-contacts_list")
    expect(list_contacts).to_contain_text("/api/v1/contacts")
    list_contacts.get_by_role("button", name="GET /api/v1/contacts", exact=True).click()
    # Expanded: the list's query parameters, straight from the contact FilterSet.
    expect(list_contacts.get_by_text("lifecycle_stage", exact=True)).to_be_visible()
    screenshot(page, "desktop")

    assert browser_log.csp_violations == []
    assert browser_log.problems() == []


def test_every_inline_script_on_the_docs_page_carries_the_nonce(
    admin: User, client_for: Callable[[User], Client]
) -> None:
    response = client_for(admin).get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    policy = response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy
    assert inline_tags_without_the_nonce(html, policy) == []
    assert "<style" not in html  # style-src has no nonce: no inline styles at all
    assert re.search(r'<script src="[^"]*\?script=" nonce="', html)  # the split view's init


def test_the_inline_fallback_script_carries_the_nonce_too(admin: User) -> None:
    """The non-split view inlines the init script; the override nonces it as well."""
    request = RequestFactory().get("/api/v1/docs-inline/")
    request.user = admin
    view = SpectacularSwaggerView.as_view(url_name="api-schema")
    csp = ContentSecurityPolicyMiddleware(view)
    csp.process_request(request)
    response = view(request).render()  # rendered before the header, as Django's handler does
    response = csp.process_response(request, response)
    html = response.content.decode()
    assert "SwaggerUIBundle(" in html  # the init script is inline here
    problems = inline_tags_without_the_nonce(html, response.headers["Content-Security-Policy"])
    assert problems == []
