"""Analytics refresh of 1,000,000 customers with 5,000,000 orders (target: < 60 s, < 2 GB).

    python bench/insights_refresh.py                          (1,000,000 / 5,000,000)
    python bench/insights_refresh.py --contacts 20000 --orders 100000 --runs 2
    python bench/insights_refresh.py --reuse                  (keep an existing data set)

Builds its own database (SQLite under var/bench-insights-<contacts>-<orders>/,
or --data-dir, unless DATABASE_URL names one): --contacts contacts, a
twentieth of them with a company, --orders bought orders over three years
with one to three lines each over --products products, and some bad data:
cancelled and returned orders, credit notes (negative totals), zero totals,
orders dated in the future and trashed orders. Buying is skewed the way shops
see it: 15 % of the contacts never buy, 30 % buy once, the rest repeat with a
long tail of heavy buyers, and each buyer mostly buys within one product
family. The rows are generated in SQL (WITH RECURSIVE on SQLite,
generate_series on PostgreSQL), so this measures the refresh, not the load.

Each run is ``insights.services.refresh_scores`` end to end, as the nightly
job and ``rapport analytics refresh`` run it, in a fresh process so its peak
memory is its own: wall and CPU time (process_time), peak RSS (ru_maxrss), the
time of each stage, and as a same-run baseline the unavoidable read: one raw
SQL ``GROUP BY contact_id`` over the same orders, fetched into Python.
Prints one line per run and the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 30)
YEARS = 3
TARGET_SECONDS = 60
TARGET_MB = 2048


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=5_000_000, help="bought orders")
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--reuse", action="store_true", help="keep a data set of this size")
    parser.add_argument("--data-dir", type=Path, help="SQLite directory (default under var/)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child", choices=["build", "migrate", "run"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.contacts < 20 or args.orders < args.contacts or args.products < 20 or args.runs < 1:
        parser.error("need at least 20 contacts, as many orders, 20 products and one run")
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    if "DATABASE_URL" not in os.environ:
        data_dir = args.data_dir or ROOT / "var" / f"bench-insights-{args.contacts}-{args.orders}"
        data_dir.mkdir(parents=True, exist_ok=True)
        os.environ["RAPPORT_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    if args.child:
        import django

        django.setup()
        if args.child == "migrate":
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
        elif args.child == "build":
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            started = time.perf_counter()
            build(args.contacts, args.orders, args.products)
            print(f"built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        else:
            print(json.dumps(measure()))
        return 0

    command = [sys.executable, __file__, *sys.argv[1:]]
    if not (args.reuse and _exists()):
        subprocess.run([*command, "--child", "build"], check=True)  # noqa: S603 - this script
    else:
        # A kept data set gets the schema of the code under test (e.g. fewer indexes).
        subprocess.run([*command, "--child", "migrate"], check=True)  # noqa: S603 - this script
    figures = []
    for number in range(1, args.runs + 1):
        output = subprocess.run(  # noqa: S603 - this script
            [*command, "--child", "run"], check=True, stdout=subprocess.PIPE, text=True
        ).stdout
        figures.append(json.loads(output.strip().splitlines()[-1]))
        print(_line(number, figures[-1]), flush=True)
    summary = summarise(figures)
    print(_summary_text(summary, args))
    if args.json:
        args.json.write_text(json.dumps({"runs": figures, "median": summary}, indent=2))
    return 0


def _exists() -> bool:
    """Whether the database already holds a data set (built by this script)."""
    probe = (
        "import django; django.setup(); from rapport.trading.models import Order;"
        "print(Order.objects.filter(number__startswith='B').exists())"
    )
    result = subprocess.run(  # noqa: S603 - this interpreter
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    return result.returncode == 0 and result.stdout.strip().endswith("True")


# --- the data set -------------------------------------------------------------------------


def build(contacts: int, orders: int, products: int) -> None:
    """Fill the (empty) database with the data set, in SQL, in one transaction."""
    from django.db import connection, transaction

    from rapport.catalog.models import Product
    from rapport.core.demo import BulkWriter
    from rapport.customers.models import Company, Contact
    from rapport.trading.models import Asset, Order, OrderLine

    postgres = connection.vendor == "postgresql"
    writer = BulkWriter(progress=False)
    with transaction.atomic():
        with (
            writer.indexes_deferred(Contact, Company, Order, OrderLine, Asset),
            connection.cursor() as cursor,
        ):
            for statement in statements(contacts, orders, products, postgres=postgres):
                cursor.execute(statement)
        writer.reset_sequences(Contact, Company, Product, Order, OrderLine, Asset)
    writer.analyse()


def statements(contacts: int, orders: int, products: int, *, postgres: bool) -> list[str]:
    """The SQL that generates the data set (pseudo-random but deterministic)."""
    stamp = "TIMESTAMPTZ '2026-11-01 00:00:00+00'" if postgres else "'2026-11-01 00:00:00'"
    false, true = ("false", "true") if postgres else ("0", "1")
    # Whole part of a non-negative number (PostgreSQL's CAST rounds, SQLite's truncates).
    cast, as_integer = ("FLOOR", ")::bigint") if postgres else ("CAST", " AS INTEGER)")
    companies = max(contacts // 20, 1)
    repeaters = contacts * 55 // 100  # ids 1..repeaters buy again and again
    once = contacts * 30 // 100  # the next ones buy once; the rest never
    extra = max(orders // 50, 1)  # cancelled and returned orders besides
    span = YEARS * 365

    def numbers(count: int) -> str:
        if postgres:
            return f"generate_series(1::bigint, {count}) AS n(i)"
        return (
            f"(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {count}) "
            "SELECT i FROM s) AS n"
        )

    def day(offset: str) -> str:
        if postgres:
            return f"(DATE '{TODAY.isoformat()}' + ({offset})::int)"
        return f"date('{TODAY.isoformat()}', ({offset}) || ' days')"

    def unit(expression: str, salt: int) -> str:
        """A pseudo-random number in [0, 1) from an integer expression."""
        # Integer hashing that stays below 2**63 on both databases; the squaring step
        # keeps numbers drawn with different salts independent of each other.
        prime = 4294967291
        multiplier = (2654435761, 1597334677, 2246822519, 3266489917, 668265263, 374761393)[
            salt % 6
        ] % 2147483647
        x = f"((({expression}) * {multiplier} + {salt * 7919}) % {prime})"
        y = f"(({x} * (({x} % 65521) + 7)) % {prime})"
        return f"((({y} * 1103515245 + 12345) % {prime}) / {float(prime)})"

    u1, u2, u3, u4 = (unit("n.i", salt) for salt in (1, 2, 3, 4))
    contact = (
        f"CASE WHEN n.i <= {once} THEN {repeaters} + n.i "
        f"WHEN n.i > {orders} THEN 1 + {cast}({repeaters} * {u1}{as_integer} "
        f"ELSE 1 + {cast}({repeaters} * (0.15 * {u1} + 0.85 * {u1} * {u1}){as_integer} END"
    )
    bucket = f"{cast}(1000 * {u3}{as_integer}"
    # Each buyer has their own typical spend (the spend model needs that), varying by order.
    typical = unit("p.contact", 7)
    total = f"ROUND((10 + 190 * {typical} * {typical}) * (0.4 + 1.2 * p.u4), 2)"
    # Each buyer buys within their own active years; two in five are still active today.
    joined, leaves = f"(0.7 * {unit('o.contact', 8)})", unit("o.contact", 9)
    active = (
        f"({joined} + (CASE WHEN {leaves} > 0.6 THEN 1 - {joined}"
        f" ELSE (1 - {joined}) * (0.3 + {leaves}) END) * o.u2)"
    )
    services = products // 10
    goods = products - services
    return [
        f"INSERT INTO catalog_product (id, created_at, updated_at, version, deleted_at, sku, name,"
        " category, description, kind, unit_price, currency, active, service_interval_days,"
        " warranty_months, created_by_id, updated_by_id, upgrade_to_id, renewal_months) "
        f"SELECT n.i, {stamp}, {stamp}, 1, NULL, 'BENCH-' || n.i, 'Product ' || n.i,"
        " 'Family ' || (n.i % 10), '',"
        f" CASE WHEN n.i > {goods} THEN 'service' ELSE 'product' END, 100, 'EUR',"
        f" CASE WHEN n.i % 50 = 0 THEN {false} ELSE {true} END,"
        f" CASE WHEN n.i > {goods} THEN 365 END, NULL, NULL, NULL,"
        f" CASE WHEN n.i % 25 = 1 AND n.i < {goods} THEN n.i + 1 END, NULL "
        f"FROM {numbers(products)}",
        "INSERT INTO catalog_product_related (from_product_id, to_product_id) "
        f"SELECT n.i, {goods} + 1 + (n.i % {services}) FROM {numbers(goods)}",
        "INSERT INTO customers_company (id, created_at, updated_at, version, name, domain,"
        " industry, size, annual_revenue, currency, lifecycle_stage, notes, custom_fields,"
        " external_id, created_by_id, owner_id, updated_by_id, deleted_at) "
        f"SELECT n.i, {stamp}, {stamp}, 1, 'Company ' || n.i, '', '', '', NULL, 'EUR',"
        f" 'customer', '', '{{}}', NULL, NULL, NULL, NULL, NULL FROM {numbers(companies)}",
        "INSERT INTO customers_contact (id, created_at, updated_at, version, first_name,"
        " last_name, full_name, email, phone, job_title, birthday, language, time_zone, source,"
        " lifecycle_stage, notes, custom_fields, external_id, last_activity_at, created_by_id,"
        " owner_id, updated_by_id, deleted_at) "
        f"SELECT n.i, {stamp}, {stamp}, 1, 'Buyer', 'No ' || n.i, 'Buyer No ' || n.i, '', '',"
        " '', NULL, 'en', '', 'bench', 'customer', '', '{}', NULL, NULL, NULL, NULL, NULL, NULL "
        f"FROM {numbers(contacts)}",
        # Orders: n.i <= orders are bought, the rest cancelled or returned.
        "INSERT INTO trading_order (id, created_at, updated_at, version, deleted_at, number,"
        " status, order_date, currency, subtotal, discount, total, exchange_rate, total_base,"
        " notes, status_changed_at, company_id, contact_id, created_by_id, owner_id,"
        " updated_by_id) "
        f"SELECT o.i, {stamp}, {stamp}, 1,"
        f" CASE WHEN o.bucket = 7 THEN {stamp} END, 'B' || o.i,"
        f" CASE WHEN o.i > {orders} THEN (CASE WHEN o.i % 2 = 0 THEN 'cancelled'"
        " ELSE 'returned' END) WHEN o.bucket % 3 = 0 THEN 'paid' WHEN o.bucket % 7 = 0"
        " THEN 'placed' ELSE 'delivered' END,"
        f" CASE WHEN o.bucket = 3 OR o.bucket = 4 THEN {day('1 + o.bucket * 5')}"
        f" ELSE {day(f'{cast}({span} * {active}{as_integer} - {span}')} END,"
        " 'EUR', o.total, 0, o.total, 1, o.total, '', NULL,"
        f" CASE WHEN o.contact % 20 = 0 THEN 1 + (o.contact / 20) % {companies} END,"
        " o.contact, NULL, NULL, NULL "
        "FROM (SELECT p.i, p.contact, p.u2, p.bucket,"
        f" CASE WHEN p.bucket < 10 THEN -{total} WHEN p.bucket < 20 THEN 0 ELSE {total} END"
        f" AS total FROM (SELECT n.i AS i, {contact} AS contact, {u2} AS u2, {bucket} AS bucket,"
        f" {u4} AS u4 FROM {numbers(orders + extra)}) AS p) AS o",
        # One to three lines per order, mostly from the buyer's product family.
        "INSERT INTO trading_orderline (position, description, quantity, unit_price,"
        " discount_percent, line_total, order_id, product_id) "
        "SELECT k.k, '', 1, 10, 0, 10, o.id,"
        f" CASE WHEN (o.id + k.k) % 5 = 0"
        f" THEN 1 + {cast}({products} * {unit('o.id * 3 + k.k', 5)} * {unit('o.id * 3 + k.k', 5)}"
        f"{as_integer}"
        f" ELSE 1 + ((o.contact_id % 10) + 10 * {cast}(({goods} / 10) * {unit('o.id * 3 + k.k', 6)}"
        f" * {unit('o.id * 3 + k.k', 6)}{as_integer}) % {goods} END "
        "FROM trading_order o JOIN (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3) k"
        " ON k.k <= 1 + o.id % 3",
        # Units owned by one contact in twenty, some due for service.
        "INSERT INTO trading_asset (created_at, updated_at, version, deleted_at, unit, serial,"
        " bought_on, installed_on, warranty_end, last_serviced_on, next_service_due, notes,"
        " company_id, contact_id, created_by_id, owner_id, product_id, updated_by_id, order_id,"
        " order_line_id, replaced_by_id, renewal_on) "
        f"SELECT {stamp}, {stamp}, 1, NULL, NULL, '', {day('-400')}, NULL, NULL, NULL,"
        f" {day('(n.i % 120) - 30')}, '', NULL, n.i * 20, NULL, NULL, 1 + (n.i * 7) % {goods},"
        f" NULL, NULL, NULL, NULL, NULL FROM {numbers(max(repeaters // 20, 1))}",
    ]


# --- one measured run ---------------------------------------------------------------------


def measure() -> dict[str, Any]:
    """One refresh, then the baseline read, in this (fresh) process."""
    from django.db import connection

    from rapport.insights import services

    stages: dict[str, dict[str, float]] = {}
    load_before = os.getloadavg()

    def progress(stage: str, done: int, total: int) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        times = stages.setdefault(stage, {"start": now, "cpu_start": cpu})
        times["end"], times["cpu_end"] = now, cpu

    started, cpu_started = time.perf_counter(), time.process_time()
    run = services.refresh_scores(today=TODAY, progress=progress)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    offers = run.diagnostics.get("offers", {})

    statuses = "'placed', 'paid', 'delivered'"
    baseline_sql = (
        "SELECT contact_id, count(*), sum(total_base), max(order_date) FROM trading_order "
        f"WHERE deleted_at IS NULL AND status IN ({statuses}) AND contact_id IS NOT NULL "
        "GROUP BY contact_id"
    )
    base_started, base_cpu = time.perf_counter(), time.process_time()
    with connection.cursor() as cursor:
        cursor.execute(baseline_sql)
        groups = len(cursor.fetchall())
    baseline = time.perf_counter() - base_started
    return {
        "database": connection.vendor,
        "customers": run.customers,
        "orders": run.orders,
        "offers": offers.get("written", 0) if isinstance(offers, dict) else 0,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "peak_mb": round(peak_mb),
        "stages": {
            name: {
                "wall_s": round(t["end"] - t["start"], 2),
                "cpu_s": round(t["cpu_end"] - t["cpu_start"], 2),
            }
            for name, t in stages.items()
        },
        "baseline_s": round(baseline, 2),
        "baseline_cpu_s": round(time.process_time() - base_cpu, 2),
        "baseline_groups": groups,
        "load_before": [round(value, 2) for value in load_before],
        "load_after": [round(value, 2) for value in os.getloadavg()],
    }


def summarise(figures: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the runs, stage by stage."""

    def median(values: list[float]) -> float:
        return round(statistics.median(values), 2)

    names = list(dict.fromkeys(name for figure in figures for name in figure["stages"]))
    return {
        "database": figures[0]["database"],
        "customers": figures[0]["customers"],
        "orders": figures[0]["orders"],
        "offers": figures[0]["offers"],
        "runs": len(figures),
        "wall_s": median([f["wall_s"] for f in figures]),
        "cpu_s": median([f["cpu_s"] for f in figures]),
        "peak_mb": median([f["peak_mb"] for f in figures]),
        "baseline_s": median([f["baseline_s"] for f in figures]),
        "stages": {
            name: {
                key: median([f["stages"][name][key] for f in figures if name in f["stages"]])
                for key in ("wall_s", "cpu_s")
            }
            for name in names
        },
        "load": [f["load_before"][0] for f in figures],
    }


def _line(number: int, figure: dict[str, Any]) -> str:
    stages = ", ".join(f"{name} {t['wall_s']:.1f} s" for name, t in figure["stages"].items())
    return (
        f"run {number}: {figure['wall_s']:.1f} s wall, {figure['cpu_s']:.1f} s CPU, "
        f"{figure['peak_mb']:,} MB peak; {stages}; baseline read {figure['baseline_s']:.1f} s; "
        f"load {figure['load_before'][0]:.1f}"
    )


def _summary_text(summary: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [
        "",
        f"{summary['database']}, {summary['customers']:,} customers scored from "
        f"{summary['orders']:,} orders ({args.contacts:,} contacts), "
        f"median of {summary['runs']} runs:",
        f"  refresh       {summary['wall_s']:7.1f} s wall {summary['cpu_s']:7.1f} s CPU "
        f"(target < {TARGET_SECONDS} s)",
        f"  peak memory   {summary['peak_mb']:7,.0f} MB (target < {TARGET_MB:,} MB)",
        f"  baseline read {summary['baseline_s']:7.1f} s (one GROUP BY over the orders) -> "
        f"refresh is {summary['wall_s'] / max(summary['baseline_s'], 0.01):.1f} x",
    ]
    for name, times in summary["stages"].items():
        lines.append(f"    {name:<22} {times['wall_s']:6.1f} s wall {times['cpu_s']:6.1f} s CPU")
    lines.append(f"  load average (1 min) at each start: {summary['load']}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
