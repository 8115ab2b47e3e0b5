"""`rapport reindex`: rebuild the global search index from the records."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from rapport.customers import search as customer_search


class Command(BaseCommand):
    help = "Rebuild the global search index (contacts and companies)."

    def handle(self, *args: Any, **options: Any) -> None:
        total = customer_search.rebuild()
        self.stdout.write(f"Indexed {total} records.")
