"""`rapport worker`: the Huey consumer that runs background and periodic jobs."""

from __future__ import annotations

import logging
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from rapport.core.health import check_database, check_migrations, check_queue


class Command(BaseCommand):
    help = "Run background and periodic jobs (Huey consumer). Ctrl-C finishes running jobs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--workers", type=int, default=None, help="worker threads (default: WORKER_THREADS)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Fail in one line, at once, if the database or the queue does not answer,
        # rather than starting a consumer that retries forever.
        check_database().raise_unless_ok()
        check_queue().raise_unless_ok()
        check_migrations().raise_unless_ok()
        # Huey adds its own handler to the "huey" logger unless one is there; Django's
        # LOGGING already prints through the root logger, so every line came out twice.
        huey_logger = logging.getLogger("huey")
        if not huey_logger.handlers:
            huey_logger.addHandler(logging.NullHandler())
        extra = {"workers": options["workers"]} if options["workers"] else {}
        call_command("run_huey", **extra)
