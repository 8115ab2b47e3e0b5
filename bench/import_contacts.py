"""Contact import rate: the real import path beside raw executemany of the same rows.

    python bench/import_contacts.py --rows 20000 --runs 5

Each run starts from an empty database (a fresh SQLite file under
var/bench-import/ unless DATABASE_URL names another), writes a CSV file of
--rows contacts (name, e-mail, phone, job title, external id), and measures:

* import: ``dataio.services.run_import`` as the job and ``rapport import`` run
  it: read and sniff the file, validate every row with the customers'
  normalisers, upsert (look up e-mails and external ids), write contacts,
  e-mails, phones, lifecycle entries, audit history and search documents;
* re-import: the same file again (every row matched and unchanged);
* raw: ``executemany`` of one INSERT per row with the same values into a
  plain table of the contact's columns, in the same database, committed.

Prints rows/s per run and the medians; target: import >= 20,000 rows/s. On a
shared machine the wall-clock rate depends on what else runs, so the table
also gives rows per second of this process's CPU time (SQLite runs in the
process, so that is all the work) and the load average before and after.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.rows < 1 or args.runs < 1:
        parser.error("--rows and --runs must be positive")
    # Under RAPPORT_DATA_DIR when set (each engineer's own), else the repo's var/.
    workdir = Path(os.environ.get("RAPPORT_DATA_DIR") or ROOT / "var") / "bench-import"
    workdir.mkdir(parents=True, exist_ok=True)
    if "DATABASE_URL" not in os.environ:
        database = workdir / "rapport.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        os.environ["RAPPORT_DATA_DIR"] = str(workdir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    path = workdir / "contacts.csv"
    _write_file(path, args.rows)
    figures: dict[str, list[float]] = {
        name: [] for name in ("import", "import_cpu", "reimport", "reimport_cpu", "raw", "raw_cpu")
    }
    load_before = os.getloadavg()[0]
    for run in range(1, args.runs + 1):
        _empty()
        (imported, imported_cpu), (reimported, reimported_cpu) = _import(path)
        raw, raw_cpu = _raw(path)
        for name, seconds in (
            ("import", imported), ("import_cpu", imported_cpu), ("reimport", reimported),
            ("reimport_cpu", reimported_cpu), ("raw", raw), ("raw_cpu", raw_cpu),
        ):  # fmt: skip
            figures[name].append(args.rows / max(seconds, 1e-9))
        print(
            f"run {run}: import {figures['import'][-1]:,.0f} rows/s"
            f" ({figures['import_cpu'][-1]:,.0f} per CPU s),"
            f" re-import {figures['reimport'][-1]:,.0f} rows/s,"
            f" raw executemany {figures['raw'][-1]:,.0f} rows/s",
            flush=True,
        )
    median = {name: statistics.median(values) for name, values in figures.items()}
    print(
        f"\n{connection.vendor}, {args.rows:,} rows, median of {args.runs} runs"
        f" (load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after,"
        f" {os.cpu_count()} CPUs):\n"
        f"                                              wall rows/s  rows per CPU s\n"
        f"  import (validate + upsert + audit + search) {median['import']:>11,.0f}"
        f" {median['import_cpu']:>15,.0f}\n"
        f"  re-import (all unchanged)                   {median['reimport']:>11,.0f}"
        f" {median['reimport_cpu']:>15,.0f}\n"
        f"  raw executemany of the same rows            {median['raw']:>11,.0f}"
        f" {median['raw_cpu']:>15,.0f}\n"
        f"  import / raw executemany (same run)         {median['import'] / median['raw']:>11.4f}"
        f" {median['import_cpu'] / median['raw_cpu']:>15.4f}\n"
        f"  target: import >= 20,000 rows/s"
    )
    return 0


def _write_file(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["Record ID", "First Name", "Last Name", "Email", "Phone Number", "Job Title"]
        )
        for number in range(rows):
            writer.writerow(
                [
                    f"ext-{number}",
                    f"Given{number % 997}",
                    f"Family{number}",
                    f"person{number}@example{number % 50}.com",
                    f"+49 30 {1_000_000 + number}",
                    "Buyer" if number % 3 else "Engineer",
                ]
            )


def _empty() -> None:
    from django.db import connection

    from rapport.customers.models import Company, Contact, LifecycleChange
    from rapport.dataio.models import ImportJob
    from rapport.search.models import SearchDocument

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_contact")
    Contact.tags.through.objects.all().delete()
    for model in (Contact, Company):
        model.history.all().delete()
    from rapport.customers.models import ContactEmail, ContactPhone

    ContactEmail.history.all().delete()
    ContactPhone.history.all().delete()
    LifecycleChange.objects.all().delete()
    Contact.objects.all().delete()
    ImportJob.objects.all().delete()
    SearchDocument.objects.all().delete()


def _import(path: Path) -> tuple[tuple[float, float], tuple[float, float]]:
    """(wall seconds, CPU seconds) of the first import and of the re-import."""
    from rapport.dataio import services

    def once() -> tuple[float, float]:
        with path.open("rb") as upload:
            job = services.start_import(None, entity="contacts", upload=upload, filename=path.name)
        services.set_mapping(None, job, job.columns, match_on=job.match_on)
        job.dry_run = False
        job.save(update_fields=["dry_run"])
        started, cpu = time.perf_counter(), time.process_time()
        job = services.run_import(job)
        elapsed = (time.perf_counter() - started, time.process_time() - cpu)
        if job.status != "done" or job.invalid:
            raise SystemExit(f"import failed: {job.status} {job.message} {job.invalid} invalid")
        return elapsed

    first = once()
    return first, once()


def _raw(path: Path) -> tuple[float, float]:
    from django.db import connection, transaction

    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        rows = [tuple(row) for row in reader]
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_raw_contact (id integer primary key, external_id text, "
            "first_name text, last_name text, email text, phone text, job_title text)"
        )
    started, cpu = time.perf_counter(), time.process_time()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO bench_raw_contact (external_id, first_name, last_name, email, phone, "
            "job_title) VALUES (%s, %s, %s, %s, %s, %s)",
            rows,
        )
    return time.perf_counter() - started, time.process_time() - cpu


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    sys.exit(main())
