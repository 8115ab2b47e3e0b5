"""`rapport demo --contacts N`: load the demo data set."""

from __future__ import annotations

import random
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.utils import timezone

from rapport.core.demo import DemoContext, steps
from rapport.core.permissions import Role
from rapport.users.models import Team, User

# Apps whose rows are set-up rather than data: users (the admin who loads the demo),
# core (custom field definitions, saved views) and the search index built from data.
SET_UP_APPS = {"users", "core", "search"}


class Command(BaseCommand):
    help = "Load realistic, deterministic demo data (same --seed and size, same data)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--contacts", type=int, default=2000, help="how many contacts (scales the rest)"
        )
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing if the database has data"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["contacts"] < 0:
            raise CommandError("--contacts must be 0 or more")
        if has_data():
            if options["if_empty"]:
                self.stdout.write("The database already has data; demo data not loaded.")
                return
            raise CommandError(
                "The database already has data; load demo data only into an empty Rapport."
            )
        context = DemoContext(
            rng=random.Random(options["seed"]),
            contacts=options["contacts"],
            now=timezone.now().replace(microsecond=0),
            say=lambda text: self.stdout.write(text),
        )
        with transaction.atomic():
            for step in steps():
                self.stdout.write(f"Demo: {step.name}…")
                step.run(context)
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))


def has_data() -> bool:
    """Teams, people other than admins, or any record of a domain app (contacts, ...)."""
    if Team.objects.exists() or User.objects.exclude(role=Role.ADMIN).exists():
        return True
    return any(model._base_manager.exists() for model in _domain_models())


def _domain_models() -> list[type[models.Model]]:
    found = []
    for config in apps.get_app_configs():
        if not config.name.startswith("rapport.") or config.label in SET_UP_APPS:
            continue
        for model in config.get_models():
            is_history = model.__name__.startswith("Historical") and hasattr(model, "history_id")
            # Rows a migration puts in every database (a default pipeline) are not data.
            is_set_up = getattr(model, "is_set_up_data", False)
            if not is_history and not is_set_up and not model._meta.proxy:
                found.append(model)
    return found
