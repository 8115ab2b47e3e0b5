"""Shared fixtures: users per role, logged-in clients, a real SMTP server, services."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from rapport.core.permissions import Role
from rapport.users import services
from rapport.users.models import Team, User
from tests.factories import TEST_PASSWORD, TeamFactory, user_with_role

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_or_skip(available: bool, what: str) -> None:
    """In CI a missing dependency fails the run; on a laptop it skips with the reason."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not available")
    pytest.skip(f"{what} is not available here (CI requires it)")


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings: Any, tmp_path: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = True
    settings.STATIC_ROOT = str(tmp_path / "static")
    (tmp_path / "static").mkdir()
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _huey_immediate() -> Iterator[None]:
    from huey.contrib.djhuey import HUEY

    previous = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = previous


@pytest.fixture(autouse=True)
def _reset_axes(db: None) -> None:
    from axes.utils import reset

    reset()


@pytest.fixture
def team_north(db: None) -> Team:
    return TeamFactory(name="North")


@pytest.fixture
def team_south(db: None) -> Team:
    return TeamFactory(name="South")


@pytest.fixture
def admin(db: None) -> User:
    return user_with_role(Role.ADMIN, email="admin@example.com", full_name="Ada Admin")


@pytest.fixture
def manager(team_north: Team) -> User:
    return user_with_role(
        Role.MANAGER, team_north, email="manager@example.com", full_name="Max Manager"
    )


@pytest.fixture
def sales(team_north: Team) -> User:
    return user_with_role(Role.SALES, team_north, email="sales@example.com", full_name="Sam Sales")


@pytest.fixture
def sales_south(team_south: Team) -> User:
    return user_with_role(Role.SALES, team_south, email="south@example.com", full_name="Sia South")


@pytest.fixture
def service_user(team_north: Team) -> User:
    return user_with_role(
        Role.SERVICE, team_north, email="service@example.com", full_name="Seb Service"
    )


@pytest.fixture
def marketing(db: None) -> User:
    return user_with_role(Role.MARKETING, email="marketing@example.com", full_name="Mia Marketing")


@pytest.fixture
def read_only(db: None) -> User:
    return user_with_role(Role.READ_ONLY, email="readonly@example.com", full_name="Rex Reader")


@pytest.fixture
def user_of_role(request: pytest.FixtureRequest) -> Any:
    """``user_of_role("sales")`` → the fixture user with that role."""
    names = {
        Role.ADMIN: "admin",
        Role.MANAGER: "manager",
        Role.SALES: "sales",
        Role.SERVICE: "service_user",
        Role.MARKETING: "marketing",
        Role.READ_ONLY: "read_only",
    }
    return lambda role: request.getfixturevalue(names[role])


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def client_for() -> Any:
    return logged_in


@pytest.fixture
def api_for() -> Any:
    """An API client authenticated with a real personal token of ``user``."""

    def make(user: User) -> APIClient:
        issued = services.create_api_token(actor=user, name="tests")
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
        return api

    return make


@pytest.fixture
def password() -> str:
    return TEST_PASSWORD


# --- a real SMTP server -------------------------------------------------------


@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list[Message] = field(default_factory=list)
    refuse: bool = False

    def bodies(self) -> list[str]:
        return [_text_of(message) for message in self.messages]


def _text_of(message: Message) -> str:
    if message.is_multipart():
        return "\n".join(_text_of(part) for part in message.get_payload())  # type: ignore[union-attr]
    payload = message.get_payload(decode=True)
    return payload.decode(message.get_content_charset() or "utf-8") if payload else ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[SmtpServer]:
    """An aiosmtpd server in this process; Django's SMTP backend sends to it."""
    from aiosmtpd.controller import Controller

    server = SmtpServer(host="127.0.0.1", port=_free_port())

    class Handler:
        async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
            if server.refuse:
                return "451 Requested action aborted: try again later"
            server.messages.append(message_from_bytes(envelope.content))
            return "250 Message accepted for delivery"

    controller = Controller(Handler(), hostname=server.host, port=server.port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": server.host, "port": server.port, "timeout": 5},
        }
    }
    settings.EMAIL_CONFIGURED = True
    try:
        yield server
    finally:
        controller.stop()
