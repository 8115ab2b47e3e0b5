"""Duplicate scan time over 100,000 contacts (target: under 60 s).

    python bench/duplicates_scan.py --contacts 100000 --runs 3

Builds a fresh SQLite database under var/bench-duplicates/ (unless
DATABASE_URL names another) holding --contacts contacts with a primary e-mail,
a phone, an address for a third of them and a birthday for half, of which 5 %
are corrupted copies of another contact (a typo in the name, another e-mail at
the same company, the same phone written differently, a swapped first and
last name). The rows are bulk-inserted: this measures the scan, not the import.

Each run is ``dataio.duplicates.scan("contact")`` end to end, as ``rapport
duplicates scan`` and the nightly job run it: load every live contact with its
e-mails, phones, address and company, block, score, and write the review
queue. Prints the time per run, the median, and how many of the planted
copies the scan found.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FIRST = [
    "Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hannah", "Ida", "Jonas",
    "Karl", "Lena", "Max", "Nina", "Oskar", "Paula", "Quentin", "Rosa", "Sven", "Tina",
    "Ulrich", "Vera", "Walter", "Xenia", "Yusuf", "Zoe", "Mohammed", "Sophie", "Liam", "Olivia",
]  # fmt: skip
SYLLABLES = ["ber", "man", "sch", "mid", "ner", "wal", "ter", "ko", "lin", "ham", "ster", "feld"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.contacts < 2 or args.runs < 1:
        parser.error("--contacts must be at least 2 and --runs positive")
    workdir = ROOT / "var" / "bench-duplicates"
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

    from rapport.dataio import duplicates
    from rapport.dataio.models import DuplicatePair

    call_command("migrate", verbosity=0)
    planted = _seed(args.contacts)
    timings = []
    for run in range(1, args.runs + 1):
        started = time.perf_counter()
        result = duplicates.scan("contact")
        timings.append(time.perf_counter() - started)
        print(
            f"run {run}: {timings[-1]:.1f} s, {result.candidates:,} compared pairs, "
            f"{result.found:,} probable duplicates",
            flush=True,
        )
    found = set(DuplicatePair.objects.values_list("contact_a_id", "contact_b_id"))
    caught = sum(1 for pair in planted if pair in found)
    print(
        f"\n{connection.vendor}, {args.contacts:,} contacts, median of {args.runs} runs: "
        f"{statistics.median(timings):.1f} s (target < 60 s)\n"
        f"planted copies found: {caught:,} of {len(planted):,}"
    )
    return 0


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 3:
        return text
    at = rng.randrange(1, len(text) - 1)
    return text[:at] + text[at + 1] + text[at] + text[at + 2 :]


def _seed(count: int) -> list[tuple[int, int]]:
    """Bulk-insert the contacts; returns the (original, copy) id pairs planted."""
    from datetime import date, timedelta

    from django.db import transaction

    from rapport.customers.models import Address, Contact, ContactEmail, ContactPhone

    rng = random.Random(6)
    originals = count - count // 20
    people: list[dict[str, object]] = []
    for number in range(originals):
        people.append(
            {
                "first": rng.choice(FIRST),
                "last": _name(rng),
                "email": f"p{number}@firm{number % 3000}.example",
                "phone": f"+4930{10_000_000 + number}",
                "birthday": date(1950, 1, 1) + timedelta(days=rng.randrange(20_000))
                if number % 2
                else None,
                "street": f"{rng.randint(1, 200)} {_name(rng)}strasse" if number % 3 == 0 else "",
                "postcode": f"{10_000 + number % 80_000}",
            }
        )
    copies: list[int] = []
    for number in range(count - originals):
        source = rng.randrange(originals)
        copies.append(source)
        person = dict(people[source])
        style = number % 4
        if style == 0:
            person["last"] = _typo(rng, str(person["last"]))
        elif style == 1:
            person["email"] = (
                f"{str(person['first']).lower()}.x{number}@"
                + str(person["email"]).partition("@")[2]
            )
        elif style == 2:
            person["email"] = f"copy{number}@mail.example"
        else:
            person["first"], person["last"] = person["last"], person["first"]
            person["email"] = f"swap{number}@other.example"
        people.append(person)
    with transaction.atomic():
        contacts = Contact.objects.bulk_create(
            [
                Contact(
                    first_name=str(p["first"]),
                    last_name=str(p["last"]),
                    full_name=f"{p['first']} {p['last']}",
                    email=str(p["email"]),
                    phone=str(p["phone"]),
                    birthday=p["birthday"] if isinstance(p["birthday"], date) else None,
                )
                for p in people
            ],
            batch_size=2000,
        )
        ContactEmail.objects.bulk_create(
            [
                ContactEmail(contact=c, email=str(p["email"]), is_primary=True)
                for c, p in zip(contacts, people, strict=True)
            ],
            batch_size=2000,
            ignore_conflicts=True,
        )
        ContactPhone.objects.bulk_create(
            [
                ContactPhone(contact=c, number=str(p["phone"]), is_primary=True)
                for c, p in zip(contacts, people, strict=True)
            ],
            batch_size=2000,
        )
        Address.objects.bulk_create(
            [
                Address(contact=c, street=str(p["street"]), postal_code=str(p["postcode"]))
                for c, p in zip(contacts, people, strict=True)
                if p["street"]
            ],
            batch_size=2000,
        )
    ids = [c.pk for c in contacts]
    return [
        (min(ids[source], ids[originals + n]), max(ids[source], ids[originals + n]))
        for n, source in enumerate(copies)
    ]


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    sys.exit(main())
