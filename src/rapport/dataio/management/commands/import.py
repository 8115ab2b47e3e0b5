"""`rapport import FILE --entity contacts --mapping NAME [--dry-run]`, with a progress bar."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from rapport.dataio import mapping, services
from rapport.dataio.choices import Entity, JobStatus, MatchOn
from rapport.dataio.models import ImportJob, SavedMapping


class Command(BaseCommand):
    help = "Import contacts, companies, products, orders or timeline entries from a file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--entity",
            choices=[value for value, _ in mapping.IMPORT_ENTITIES],
            default=Entity.CONTACTS,
        )
        parser.add_argument(
            "--mapping",
            default="",
            help="a saved mapping's name; without it Rapport maps the columns it recognises",
        )
        parser.add_argument("--match-on", choices=MatchOn.values, default="")
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        parser.add_argument(
            "--resume", type=int, metavar="JOB", help="go on with a job that stopped part-way"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["resume"]:
            job = ImportJob.objects.filter(pk=options["resume"]).first()
            if job is None:
                raise CommandError(f"There is no import job {options['resume']}.")
            self._run(job, resume=True)
            return
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        entity = options["entity"]
        try:
            with path.open("rb") as upload:
                job = services.start_import(None, entity=entity, upload=upload, filename=path.name)
            columns, match_on = job.columns, options["match_on"] or job.match_on
            if options["mapping"]:
                saved = SavedMapping.objects.filter(entity=entity, name=options["mapping"]).first()
                if saved is None:
                    names = ", ".join(
                        SavedMapping.objects.filter(entity=entity).values_list("name", flat=True)
                    )
                    raise CommandError(
                        f"No saved mapping {options['mapping']!r} for {entity} "
                        f"(saved: {names or 'none'})."
                    )
                columns = {h: t for h, t in saved.columns.items() if h in job.headers}
                match_on = options["match_on"] or saved.match_on
            services.set_mapping(None, job, columns, match_on=match_on)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        job.dry_run = options["dry_run"]
        job.save(update_fields=["dry_run"])
        mapped = ", ".join(f"{h} → {t}" for h, t in job.columns.items())
        self.stdout.write(f"Job {job.pk}: {mapped}")
        self._run(job, resume=False)

    def _run(self, job: ImportJob, *, resume: bool) -> None:
        # Drawn on a terminal only (disable=None), so logs and pipes get the summary alone.
        bar: tqdm[Any] = tqdm(total=None, unit=" rows", file=sys.stderr, disable=None)

        def progress(current: ImportJob) -> None:
            bar.total = current.total_rows
            bar.n = current.processed_rows
            bar.refresh()

        try:
            job = services.run_import(job, resume=resume, progress=progress)
        finally:
            bar.close()
        summary = (
            f"{job.created} created, {job.updated} updated, {job.skipped} unchanged, "
            f"{job.invalid} invalid"
        )
        if job.status == JobStatus.FAILED:
            raise CommandError(job.message)
        for error in job.row_errors.all()[:20]:
            self.stdout.write(f"row {error.row_number} {error.column}: {error.reason}")
        if job.invalid > 20:
            self.stdout.write(f"… and more: see job {job.pk} in Rapport for every invalid row.")
        verb = "Dry run (nothing written)" if job.dry_run else "Imported"
        self.stdout.write(self.style.SUCCESS(f"{verb}: {summary}."))
