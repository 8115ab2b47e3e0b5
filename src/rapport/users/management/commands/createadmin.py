"""`rapport createadmin`: the first admin, with a generated password printed once."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from rapport.core.permissions import Role
from rapport.users import services
from rapport.users.models import User


class Command(BaseCommand):
    help = "Create an admin user and print its credentials."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", default="admin@example.com")
        parser.add_argument("--name", default="Admin")
        parser.add_argument(
            "--if-missing", action="store_true", help="do nothing if an active admin already exists"
        )
        parser.add_argument(
            "--remember",
            action="store_true",
            help="keep the credentials in RAPPORT_DATA_DIR/initial-admin.txt (mode 600) so "
            "later runs print them again while the password is unchanged",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        remembered = Path(settings.DATA_DIR) / "initial-admin.txt"
        if options["if_missing"] and User.objects.filter(role=Role.ADMIN, is_active=True).exists():
            self._print_existing(remembered)
            return
        password = secrets.token_urlsafe(12)
        try:
            user = services.create_user(
                actor=None,
                email=options["email"],
                full_name=options["name"],
                role=Role.ADMIN,
                password=password,
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        if options["remember"]:
            descriptor = os.open(remembered, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(descriptor, 0o600)  # also when an older file was readable by others
            with os.fdopen(descriptor, "w") as handle:
                handle.write(f"{user.email}\n{password}\n")
        self._print(user.email, password)

    def _print_existing(self, remembered: Path) -> None:
        if remembered.exists():
            email, password = [*remembered.read_text().splitlines(), "", ""][:2]
            user = User.objects.filter(email__iexact=email, is_active=True).first()
            if user is not None and user.check_password(password):
                self._print(email, password)
                return
        self.stdout.write(
            "An admin already exists. Forgot the password? rapport changepassword <e-mail>"
        )

    def _print(self, email: str, password: str) -> None:
        self.stdout.write(self.style.SUCCESS("Admin sign-in for Rapport:"))
        self.stdout.write(f"  e-mail:   {email}\n  password: {password}")
