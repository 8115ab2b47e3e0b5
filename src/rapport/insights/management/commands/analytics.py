"""`rapport analytics refresh`: recompute every customer's scores now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from rapport.insights import services


class Command(BaseCommand):
    help = "Customer analytics: `refresh` recomputes RFM, lifetime value and churn scores."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["refresh"])
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        bars: dict[str, tqdm[Any]] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if options["no_progress"]:
                return
            bar = bars.get(stage)
            if bar is None:
                bar = bars[stage] = tqdm(total=total, desc=stage, unit=" rows", file=self.stderr)
            bar.update(done - bar.n)

        try:
            run = services.refresh_scores(progress=progress)
        except Exception as error:
            raise CommandError(f"The refresh failed: {error}") from error
        finally:
            for bar in bars.values():
                bar.close()
        self.stdout.write(
            self.style.SUCCESS(f"Scored {run.customers:,} customers from {run.orders:,} orders.")
        )
        for warning in run.diagnostics.get("warnings", []):
            self.stdout.write(self.style.WARNING(warning))
        for reason, count in run.diagnostics.get("skipped", {}).items():
            self.stdout.write(f"Left out {count:,} orders: {reason}.")
