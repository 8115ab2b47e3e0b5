"""`rapport duplicates scan [--kind contact|company]`, with a progress bar."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from rapport.dataio import duplicates
from rapport.dataio.models import DuplicateKind


class Command(BaseCommand):
    help = "Find duplicate contacts and companies and put them in the review queue."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        scan = actions.add_parser("scan", help="scan and refresh the review queue")
        scan.add_argument(
            "--kind",
            choices=DuplicateKind.values,
            action="append",
            help="contact or company (both unless given)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for kind in options["kind"] or DuplicateKind.values:
            # Drawn on a terminal only (disable=None), so logs and pipes get the summary alone.
            bar: tqdm[Any] = tqdm(total=None, desc=kind, file=sys.stderr, disable=None)

            def progress(step: str, done: int, total: int, bar: tqdm[Any] = bar) -> None:
                bar.set_postfix_str(step)
                bar.total = total
                bar.n = done
                bar.refresh()

            try:
                result = duplicates.scan(kind, progress=progress)
            finally:
                bar.close()
            self.stdout.write(
                f"{kind}: {result.records} records, {result.candidates} compared pairs, "
                f"{result.found} probable duplicates ({result.created} new, "
                f"{result.updated} updated, {result.removed} no longer found)"
            )
