"""Segment counts over a loaded demo (target: every one under 2 s at 1,000,000 contacts).

    rapport demo --contacts 1000000          # once, into an empty database
    python bench/segments.py --runs 5

Runs against the database the settings name (DATABASE_URL, or the SQLite
database in RAPPORT_DATA_DIR): it measures, it loads nothing. Each segment is
counted the way the segment page counts it, through
``marketing.queries.contacts_matching`` (rules compiled by
``marketing.rules`` into one query, restricted to what an admin may see),
and beside it the same question as hand-written SQL, so a slow figure says
whether the compiled query or the database is to blame. Both must give the
same number. Prints per segment the median and slowest of ``--runs`` runs
(wall time, and the process CPU time which on PostgreSQL is only the client's
share), the count, and the load average. On PostgreSQL running on the same
machine it also prints the server's CPU time for the count: that of the
session's backend, read from /proc, without parallel workers' share
(``--serial`` turns parallel query off, so that the backend does all the work).
``--explain`` prints the plan of the count query itself (with ANALYZE and
BUFFERS on PostgreSQL).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

TARGET_S = 2.0


@dataclass
class Case:
    name: str
    tree: dict[str, Any]
    sql: str
    params: list[Any]


def rule(kind: str, **params: Any) -> dict[str, Any]:
    return {"kind": kind, **params}


def cases() -> list[Case]:
    from django.utils import timezone

    from rapport.catalog.models import Product
    from rapport.customers.models import Tag

    product = Product.objects.filter(sku="BOIL-ECO-24").first() or Product.objects.first()
    if product is None:
        raise SystemExit("No products: load the demo first (rapport demo --contacts N).")
    vip = Tag.objects.filter(name="VIP").first()
    contract = Tag.objects.filter(name="maintenance contract").first()
    if vip is None or contract is None:
        raise SystemExit("The demo tags are missing: load the demo first.")
    year_ago = (timezone.localdate() - timedelta(days=365)).isoformat()
    bought = "('placed', 'paid', 'delivered')"
    live = "c.deleted_at IS NULL"
    consent = (
        "EXISTS (SELECT 1 FROM customers_consent k WHERE k.contact_id = c.id "
        "AND k.channel = 'email' AND k.purpose = 'marketing' AND k.status = 'granted')"
    )
    granted = rule("consent", op="granted", channel="email", purpose="marketing")
    orders_of = f"o.contact_id = c.id AND o.status IN {bought} AND o.deleted_at IS NULL"
    return [
        Case(
            "stage is customer + marketing consent",
            {"op": "and", "rules": [rule("stage", op="is", value="customer"), granted]},
            f"SELECT COUNT(*) FROM customers_contact c WHERE {live} "
            f"AND c.lifecycle_stage = 'customer' AND {consent}",
            [],
        ),
        Case(
            f"bought product {product.sku}",
            {"op": "and", "rules": [rule("bought_product", op="bought", value=str(product.pk))]},
            f"SELECT COUNT(*) FROM customers_contact c WHERE {live} AND EXISTS ("
            "SELECT 1 FROM trading_orderline l JOIN trading_order o ON o.id = l.order_id "
            f"WHERE {orders_of} AND l.product_id = %s)",
            [product.pk],
        ),
        Case(
            f"last order before {year_ago}",
            {"op": "and", "rules": [rule("last_order", op="before", value=year_ago)]},
            f"SELECT COUNT(*) FROM customers_contact c WHERE {live} "
            f"AND EXISTS (SELECT 1 FROM trading_order o WHERE {orders_of}) "
            f"AND NOT EXISTS (SELECT 1 FROM trading_order o WHERE {orders_of} "
            "AND o.order_date >= %s)",
            [year_ago],
        ),
        Case(
            "number of orders >= 3",
            {"op": "and", "rules": [rule("order_count", op="gte", value="3")]},
            f"SELECT COUNT(*) FROM customers_contact c WHERE {live} "
            f"AND (SELECT COUNT(*) FROM trading_order o WHERE {orders_of}) >= 3",
            [],
        ),
        Case(
            "number of orders <= 1",
            {"op": "and", "rules": [rule("order_count", op="lte", value="1")]},
            f"SELECT COUNT(*) FROM customers_contact c WHERE {live} "
            f"AND (SELECT COUNT(*) FROM trading_order o WHERE {orders_of}) <= 1",
            [],
        ),
        Case(
            "total spend >= 5000",
            {"op": "and", "rules": [rule("total_spend", op="gte", value="5000")]},
            f"SELECT COUNT(*) FROM customers_contact c WHERE {live} AND COALESCE(("
            f"SELECT SUM(o.total_base) FROM trading_order o WHERE {orders_of}), 0) >= 5000",
            [],
        ),
        Case(
            "(VIP or maintenance contract) and (customer or evangelist) and consent",
            {
                "op": "and",
                "rules": [
                    {
                        "op": "or",
                        "rules": [
                            rule("tag", op="has", value="VIP"),
                            rule("tag", op="has", value="maintenance contract"),
                        ],
                    },
                    {
                        "op": "or",
                        "rules": [
                            rule("stage", op="is", value="customer"),
                            rule("stage", op="is", value="evangelist"),
                        ],
                    },
                    granted,
                ],
            },
            f"SELECT COUNT(*) FROM customers_contact c WHERE {live} "
            "AND EXISTS (SELECT 1 FROM customers_contact_tags t WHERE t.contact_id = c.id "
            "AND t.tag_id IN (%s, %s)) "
            f"AND c.lifecycle_stage IN ('customer', 'evangelist') AND {consent}",
            [vip.pk, contract.pk],
        ),
        Case(
            "3+ orders and spend >= 2000 and consent",
            {
                "op": "and",
                "rules": [
                    rule("order_count", op="gte", value="3"),
                    rule("total_spend", op="gte", value="2000"),
                    granted,
                ],
            },
            f"SELECT COUNT(*) FROM customers_contact c WHERE {live} "
            f"AND (SELECT COUNT(*) FROM trading_order o WHERE {orders_of}) >= 3 "
            f"AND COALESCE((SELECT SUM(o.total_base) FROM trading_order o WHERE {orders_of}), 0)"
            f" >= 2000 AND {consent}",
            [],
        ),
        Case(
            "score: lifetime value >= 1000",
            {
                "op": "and",
                "rules": [rule("score", op="gte", metric="lifetime_value", value="1000")],
            },
            f"SELECT COUNT(*) FROM customers_contact c JOIN insights_customerscore s "
            f"ON s.contact_id = c.id WHERE {live} AND s.lifetime_value >= 1000",
            [],
        ),
        Case(
            "score: churn risk >= 0.5 and customer",
            {
                "op": "and",
                "rules": [
                    rule("score", op="gte", metric="churn_risk", value="0.5"),
                    rule("stage", op="is", value="customer"),
                ],
            },
            f"SELECT COUNT(*) FROM customers_contact c JOIN insights_customerscore s "
            f"ON s.contact_id = c.id WHERE {live} AND s.churn_risk >= 0.5 "
            "AND c.lifecycle_stage = 'customer'",
            [],
        ),
    ]


def backend_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) of the PostgreSQL backend ``pid``, 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime are the 14th and 15th fields; the split dropped the first two.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(
    function: Callable[[], int], runs: int, pid: int | None = None
) -> tuple[list[float], list[float], list[float], int]:
    walls, cpus, servers, result = [], [], [], -1
    for _ in range(runs):
        server = backend_cpu(pid)
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        servers.append(backend_cpu(pid) - server)
    return walls, cpus, servers, result


def explain(function: Callable[[], int]) -> str:
    """The plan of the query ``function`` runs, as the database ran it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        function()
    sql = captured.captured_queries[-1]["sql"]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return "\n".join(" ".join(str(cell) for cell in row) for row in cursor.fetchall())


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="", help="run the segments whose name contains this")
    parser.add_argument("--explain", action="store_true", help="print each count query's plan")
    parser.add_argument(
        "--serial", action="store_true", help="PostgreSQL: no parallel workers (server CPU in full)"
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be positive")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()
    from django.db import connection

    from rapport.core.permissions import Role
    from rapport.customers.models import Contact
    from rapport.marketing import queries, rules
    from rapport.users.models import User

    admin = User.objects.filter(role=Role.ADMIN, is_active=True).first()
    if admin is None:
        admin = User(email="bench@example.invalid", role=Role.ADMIN)
    contacts = Contact.objects.count()
    pid = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if args.serial:
                cursor.execute("SET max_parallel_workers_per_gather = 0")
            cursor.execute("SELECT pg_backend_pid()")
            pid = int(cursor.fetchone()[0])
    print(
        f"{connection.vendor}, {contacts:,} contacts, {args.runs} runs each, "
        f"load average {os.getloadavg()[0]:.1f}"
        + (", no parallel workers" if args.serial and pid is not None else "")
    )
    print(
        f"{'segment':72} {'count':>9} {'median s':>9} {'max s':>7} {'cpu s':>6} "
        f"{'server cpu s':>12} {'raw SQL s':>9}"
    )
    slow = 0
    for case in cases():
        if args.only and args.only not in case.name:
            continue
        tree = rules.validate(case.tree)
        matching = queries.contacts_matching(admin, tree)

        def raw(case: Case = case) -> int:
            with connection.cursor() as cursor:
                cursor.execute(case.sql, case.params)
                return int(cursor.fetchone()[0])

        def compiled(matching: Any = matching) -> int:
            return int(matching.count())

        if args.explain:
            print(explain(compiled))
        walls, cpus, servers, count = timed(compiled, args.runs, pid)
        raw_walls, _, _, raw_count = timed(raw, args.runs)
        median = statistics.median(walls)
        slow += median >= TARGET_S
        mark = "" if count == raw_count else f"  (raw SQL counts {raw_count:,})"
        server = f"{statistics.median(servers):>12.3f}" if pid is not None else f"{'-':>12}"
        print(
            f"{case.name[:72]:72} {count:>9,} {median:>9.3f} {max(walls):>7.3f} "
            f"{statistics.median(cpus):>6.3f} {server} {statistics.median(raw_walls):>9.3f}{mark}"
        )
    print(f"load average {os.getloadavg()[0]:.1f}; {slow} segment(s) at or over {TARGET_S} s")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
