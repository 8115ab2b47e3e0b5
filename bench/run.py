"""Rapport benchmarks: each figure through the real request path beside raw SQL.

    python bench/run.py --contacts 100000          (make bench)
    python bench/run.py --contacts 1000000         (make bench-full)

Uses the database DATABASE_URL names (default: SQLite under var/bench-<N>/),
loads `rapport demo --contacts N` into it once and reuses it afterwards.
Every figure is the median and p95 of --requests requests made with Django's
test client (middleware, session, permissions, templates: the server's work
without the network), beside the same rows fetched with raw SQL in the same
run. Prints one table and writes bench/results/<date>-<db>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


@dataclass
class Figure:
    name: str
    median_ms: float
    p95_ms: float
    baseline: str
    baseline_median_ms: float
    target: str
    queries: int
    # Median CPU time of this process per request: what the figure would be on an idle
    # machine; the wall-clock median also holds waiting for a core on a busy one.
    cpu_ms: float = 0.0

    @property
    def ratio(self) -> float:
        return self.median_ms / self.baseline_median_ms if self.baseline_median_ms else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="per figure (at least 200)")
    parser.add_argument("--fresh", action="store_true", help="empty the database and reload")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="SQLite data directory (default: var/bench-<contacts>; ignored with DATABASE_URL)",
    )
    parser.add_argument(
        "--seconds", type=int, default=15, help="length of each throughput run (wrk)"
    )
    parser.add_argument(
        "--no-throughput", action="store_true", help="skip the gunicorn + wrk figures"
    )
    parser.add_argument(
        "--throughput-only",
        action="store_true",
        help="only the gunicorn + wrk figures, added to today's results file",
    )
    args = parser.parse_args()
    if args.requests < 1:
        parser.error("--requests must be positive")
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    if "DATABASE_URL" not in os.environ:
        data_dir = args.data_dir or ROOT / "var" / f"bench-{args.contacts}"
        os.environ["RAPPORT_DATA_DIR"] = str(data_dir.resolve())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
    sys.path.insert(0, str(ROOT / "bench"))

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--no-input", verbosity=0)  # pages name hashed files
    _load_demo(args.contacts, fresh=args.fresh)
    if args.throughput_only:
        return _throughput_only(args.seconds)
    figures, panels, subjects = _measure(args.requests)
    figures.append(_model_fit())
    vendor = connection.vendor
    # Saved before the throughput run, so a failing server does not lose the figures.
    _save(figures, panels, {}, vendor, args.contacts, args.requests)
    throughput: dict[str, Any] = {}
    if not args.no_throughput:
        throughput = _throughput(subjects, args.seconds)
        _save(figures, panels, throughput, vendor, args.contacts, args.requests)
    _print(figures, panels, throughput, vendor, args.contacts)
    return 0


def _load_demo(contacts: int, *, fresh: bool) -> None:
    from django.core.management import call_command

    from rapport.customers.models import Contact

    present = Contact.objects.count()
    if present and not fresh:
        if abs(present - contacts) > contacts * 0.05:
            sys.exit(
                f"bench: the database holds {present:,} contacts, not {contacts:,}; "
                "run with --fresh to reload it (this empties it)."
            )
        print(f"Reusing {present:,} contacts.", flush=True)
        return
    if fresh:
        call_command("flush", "--no-input", verbosity=0)
    started = time.perf_counter()
    call_command("demo", "--contacts", str(contacts))
    print(f"Demo data loaded in {time.perf_counter() - started:.0f} s.", flush=True)


def _timed(call: Callable[[], Any], requests: int) -> tuple[float, float, int]:
    """Median and p95 in milliseconds after a warm-up, and the queries of one call."""
    median, p95, queries, _ = _timed_cpu(call, requests)
    return median, p95, queries


def _timed_cpu(call: Callable[[], Any], requests: int) -> tuple[float, float, int, float]:
    """As ``_timed``, plus the median CPU time of this process per call."""
    from django.db import connection

    for _ in range(min(10, requests)):
        call()
    # Counted by a wrapper: the request cycle resets Django's own query log.
    queries = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        call()
    samples, cpu = [], []
    for _ in range(requests):
        started, started_cpu = time.perf_counter(), time.process_time()
        call()
        samples.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return statistics.median(samples), p95, queries, statistics.median(cpu)


def _measure(requests: int) -> tuple[list[Figure], list[dict[str, Any]], dict[str, Any]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    from rapport.core.pagination import encode_cursor
    from rapport.core.permissions import Role
    from rapport.customers.models import Contact, ContactEmail, Tag
    from rapport.interactions.models import Interaction
    from rapport.users.models import User

    manager = User.objects.filter(role=Role.MANAGER, is_active=True).first()
    if manager is None:
        manager = User.objects.create_user(
            email="bench-manager@example.com", full_name="Bench Manager", role=Role.MANAGER
        )
    client = Client()
    client.force_login(manager)

    def get(url: str) -> Callable[[], Any]:
        def call() -> Any:
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"bench: {url} answered {response.status_code}")
            return response

        return call

    def sql(statement: str, params: list[Any]) -> Callable[[], Any]:
        def call() -> Any:
            with connection.cursor() as cursor:
                cursor.execute(statement, params)
                return cursor.fetchall()

        return call

    live = "deleted_at IS NULL"
    columns = "id, full_name, email, lifecycle_stage, owner_id, updated_at"
    table = Contact._meta.db_table
    figures: list[Figure] = []

    def figure(
        name: str, url: str, baseline: str, statement: str, params: list[Any], target: str
    ) -> None:
        median, p95, queries, cpu = _timed_cpu(get(url), requests)
        base_median, _, _ = _timed(sql(statement, params), requests)
        figures.append(Figure(name, median, p95, baseline, base_median, target, queries, cpu))
        print(f"  {name}: {median:.1f} ms median, {p95:.1f} ms p95, {cpu:.1f} ms CPU", flush=True)

    print("Measuring…", flush=True)
    figure(
        "contact list, first page",
        "/contacts/",
        "SELECT first 50 by name",
        f"SELECT {columns} FROM {table} WHERE {live} ORDER BY full_name, id LIMIT 50",
        [],
        "p95 <= 50 ms; <= 3x SQL",
    )
    owner = (
        Contact.objects.filter(owner__isnull=False, deleted_at__isnull=True)
        .values_list("owner_id", flat=True)
        .first()
    )
    tag = Tag.objects.order_by("id").first()
    tag_table = Contact.tags.through._meta.db_table
    figure(
        "contact list, stage + owner + tag, by last activity",
        f"/contacts/?lifecycle_stage=customer&owner={owner}&tag={tag.pk if tag else ''}"
        "&sort=-last_activity_at",
        "SELECT with the same filters",
        f"SELECT {columns} FROM {table} c WHERE {live} AND lifecycle_stage = %s "
        f"AND owner_id = %s AND EXISTS (SELECT 1 FROM {tag_table} t WHERE t.contact_id = c.id "
        "AND t.tag_id = %s) ORDER BY last_activity_at DESC, id DESC LIMIT 50",
        ["customer", owner, tag.pk if tag else 0],
        "p95 <= 50 ms",
    )
    total = Contact.objects.filter(deleted_at__isnull=True).count()
    deep = min(5000 * 50, max(total - 50, 0))
    edge = Contact.objects.filter(deleted_at__isnull=True).order_by("full_name", "id")[deep]
    cursor = encode_cursor(["full_name", "pk"], edge, backwards=False)
    figure(
        f"contact list, row {deep:,} (keyset)",
        f"/contacts/?cursor={cursor}",
        "SELECT after the same row",
        f"SELECT {columns} FROM {table} WHERE {live} AND (full_name > %s OR "
        "(full_name = %s AND id > %s)) ORDER BY full_name, id LIMIT 50",
        [edge.full_name, edge.full_name, edge.pk],
        "first page ± 20%",
    )
    email = ContactEmail.objects.order_by("id").values_list("email", flat=True)[total // 2]
    figure(
        "global search, exact e-mail",
        f"/search/?q={email}",
        "SELECT by e-mail",
        f"SELECT contact_id FROM {ContactEmail._meta.db_table} WHERE email = %s",
        [email],
        "p95 <= 100 ms",
    )
    sample = Contact.objects.filter(deleted_at__isnull=True).order_by("id")[total // 3]
    last_name = sample.last_name or sample.full_name
    prefix = last_name[:4]
    figure(
        "global search, name prefix",
        f"/search/?q={prefix}",
        "SELECT name LIKE prefix%",
        f"SELECT id FROM {table} WHERE {live} AND last_name LIKE %s LIMIT 10",
        [prefix + "%"],
        "p95 <= 100 ms",
    )
    misspelt = _misspell(last_name)
    figure(
        "global search, misspelt name",
        f"/search/?q={misspelt}",
        "SELECT exact name",
        f"SELECT id FROM {table} WHERE {live} AND last_name = %s LIMIT 10",
        [last_name],
        "p95 <= 100 ms",
    )
    figure(
        "contact detail, typical contact",
        f"/contacts/{sample.pk}/",
        "SELECT the contact",
        f"SELECT * FROM {table} WHERE id = %s",
        [sample.pk],
        "p95 <= 50 ms",
    )
    busiest, items = _busiest_contact()
    timeline_table = Interaction._meta.db_table
    figure(
        f"contact detail, {items:,}-item timeline",
        f"/contacts/{busiest}/",
        "SELECT contact + first 20 entries",
        f"SELECT * FROM {timeline_table} WHERE contact_id = %s AND {live} "
        "ORDER BY occurred_at DESC, id DESC LIMIT 21",
        [busiest],
        "p95 <= 50 ms",
    )
    figure(
        "API contacts, 100 per page",
        "/api/v1/contacts?limit=100",
        "SELECT first 100 by name",
        f"SELECT {columns} FROM {table} WHERE {live} ORDER BY full_name, id LIMIT 100",
        [],
        "",
    )
    figure(
        "API contact detail",
        f"/api/v1/contacts/{sample.pk}",
        "SELECT the contact",
        f"SELECT * FROM {table} WHERE id = %s",
        [sample.pk],
        "",
    )
    with override_settings(ROOT_URLCONF="benchsite"):
        figure("trivial JSON endpoint", "/bench/ping", "SELECT 1", "SELECT 1", [], "reference")
        figure(
            "trivial API endpoint (DRF, signed in)",
            "/bench/api-ping",
            "SELECT 1",
            "SELECT 1",
            [],
            "floor of an API request",
        )
    panels = _panels(manager, busiest, requests)
    subjects = {"user": manager.pk, "contact": sample.pk, "busiest": busiest}
    return figures, panels, subjects


def _throughput_only(seconds: int) -> int:
    from django.db import connection

    from rapport.core.permissions import Role
    from rapport.customers.models import Contact
    from rapport.users.models import User

    manager = User.objects.filter(role=Role.MANAGER, is_active=True).first()
    contact = Contact.objects.filter(deleted_at__isnull=True).order_by("id").first()
    if manager is None or contact is None:
        sys.exit("bench: load the demo first")
    throughput = _throughput({"user": manager.pk, "contact": contact.pk}, seconds)
    path = RESULTS / f"{datetime.now(UTC):%Y-%m-%d}-{connection.vendor}.json"
    payload = json.loads(path.read_text()) if path.exists() else {}
    payload["throughput"] = throughput
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")
    _print([], [], throughput, connection.vendor, Contact.objects.count())
    return 0


def _busiest_contact() -> tuple[int, int]:
    """The contact with the longest timeline (the demo's key accounts have 10,000 entries)."""
    from django.db import connection

    from rapport.interactions.models import Interaction

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT contact_id, COUNT(*) FROM {Interaction._meta.db_table} "
            "WHERE contact_id IS NOT NULL GROUP BY contact_id ORDER BY COUNT(*) DESC LIMIT 1"
        )
        row = cursor.fetchone()
    if row is None:
        sys.exit("bench: no timeline entries; load the demo first")
    return int(row[0]), int(row[1])


def _panels(user: Any, contact_pk: int, requests: int) -> list[dict[str, Any]]:
    """What each app's panel adds to the contact page: time and queries of its data."""
    from rapport.customers import panels, queries

    contact = queries.contact_detail(user).get(pk=contact_pk)
    rows = []
    for panel in sorted(panels._panels.values(), key=lambda p: (p.order, p.key)):
        if not panel.on_contacts:
            continue
        median, p95, count = _timed(
            lambda panel=panel: panel.data(user, contact), max(20, requests // 4)
        )
        rows.append({"panel": panel.key, "median_ms": median, "p95_ms": p95, "queries": count})
        print(f"  panel {panel.key}: {median:.1f} ms, {count} queries", flush=True)
    return rows


def _throughput(subjects: dict[str, Any], seconds: int) -> dict[str, Any]:
    """Requests a second through gunicorn (2 workers) under wrk, and the workers' peak memory."""
    import shutil
    import signal
    import socket
    import subprocess
    import urllib.request

    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        load_backend,
    )
    from django.contrib.sessions.backends.db import SessionStore

    from rapport.users.models import User

    wrk = shutil.which("wrk")
    if wrk is None:
        print("  wrk is not installed (apt-get install wrk): no throughput figures")
        return {}
    user = User.objects.get(pk=subjects["user"])
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = next(
        path
        for path in settings.AUTHENTICATION_BACKENDS
        if hasattr(load_backend(path), "get_user")  # axes' backend only guards logins
    )
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    from django.db import connection, transaction

    if connection.in_atomic_block:
        transaction.commit()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The API's per-user throttle (API_RATE, default 6000/minute) would answer 429 to wrk
    # long before the server is saturated; the throttle still runs, with a high rate.
    environment = dict(os.environ, RAPPORT_BENCH_SERVER="1", API_RATE="100000000/minute")
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable, "-m", "gunicorn", "benchsite:application",
            "--pythonpath", str(ROOT / "bench"), "--workers", "2",
            "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
        ],
        env=environment,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/bench/ping", timeout=1)  # noqa: S310 - local
                break
            except OSError:
                time.sleep(0.5)
        else:
            sys.exit("bench: gunicorn did not start")
        paths = {
            "trivial JSON endpoint": "/bench/ping",
            "trivial API endpoint (DRF, signed in)": "/bench/api-ping",
            "API contacts, 100 per page": "/api/v1/contacts?limit=100",
            "API contact detail": f"/api/v1/contacts/{subjects['contact']}",
        }
        rates: dict[str, float] = {}
        failures: dict[str, int] = {}
        for name, path in paths.items():
            check = urllib.request.Request(base + path, headers={"Cookie": cookie})  # noqa: S310
            with urllib.request.urlopen(check, timeout=30) as answer:  # noqa: S310
                if answer.status != 200:
                    sys.exit(f"bench: {path} answered {answer.status} through gunicorn")
            result = subprocess.run(  # noqa: S603 - wrk with our own arguments
                [wrk, "-t2", "-c8", f"-d{seconds}s", "-H", f"Cookie: {cookie}", base + path],
                capture_output=True,
                text=True,
                check=True,
            )
            rates[name] = _requests_per_second(result.stdout)
            failures[name] = _failed_responses(result.stdout)
            print(f"  {name}: {rates[name]:,.0f} requests/s through gunicorn", flush=True)
            if failures[name]:
                print(f"  {name}: {failures[name]:,} answers were errors (see the log above)")
        peak = _peak_rss_mb(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    trivial = rates["trivial JSON endpoint"]
    return {
        "server": "gunicorn, 2 sync workers; wrk -t2 -c8 on the same machine",
        "seconds": seconds,
        "requests_per_second": rates,
        "share_of_trivial": {name: rate / trivial for name, rate in rates.items()},
        # Non-2xx/3xx answers and socket errors: a rate made of errors is no rate.
        "failed_responses": failures,
        "targets": {"API contacts, 100 per page": ">= 1/3", "API contact detail": ">= 1/2"},
        "peak_worker_rss_mb": peak,
    }


def _requests_per_second(output: str) -> float:
    for line in output.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise SystemExit(f"bench: could not read wrk's output:\n{output}")


def _failed_responses(output: str) -> int:
    """Non-2xx/3xx answers plus socket errors that wrk reports (0 when it reports none)."""
    failed = 0
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("Non-2xx or 3xx responses:"):
            failed += int(line.rsplit(":", 1)[1])
        elif line.startswith("Socket errors:"):
            for part in line.removeprefix("Socket errors:").split(","):
                failed += int(part.split()[-1])
    return failed


def _peak_rss_mb(master: int) -> float:
    """The highest peak resident memory (VmHWM) among the master's worker processes."""
    peak = 0.0
    children = Path(f"/proc/{master}/task/{master}/children")
    if not children.exists():
        return 0.0
    for pid in children.read_text().split():
        status = Path(f"/proc/{pid}/status")
        if not status.exists():
            continue
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) / 1024)
    return peak


def _model_fit() -> Figure:
    """BG/NBD on the CDNOW sample, beside the `lifetimes` library on the same data."""
    import datetime as dt

    import numpy as np

    from rapport.insights import clv

    data = ROOT / "tests" / "insights" / "data" / "cdnow_sample.txt"
    customer, date, amount = np.loadtxt(data, usecols=(1, 2, 4), dtype=str, unpack=True)
    epoch = dt.date(1970, 1, 1)
    days = np.array([(dt.date(int(d[:4]), int(d[4:6]), int(d[6:])) - epoch).days for d in date])
    end = (dt.date(1997, 9, 30) - epoch).days
    summary = clv.summarise(customer.astype(int), days, amount.astype(float), end_day=end)
    ours = clv.fit_bgnbd(summary.x, summary.t_x, summary.T).params
    median, p95, _ = _timed(lambda: clv.fit_bgnbd(summary.x, summary.t_x, summary.T), 30)
    try:
        import pandas as pd
        from lifetimes import BetaGeoFitter
    except ImportError:
        print("  lifetimes is not installed (pip install -e '.[bench]'): no baseline")
        return Figure("BG/NBD fit, CDNOW 2,357 customers", median, p95, "—", 0.0, "", 0)
    frame = pd.DataFrame({"x": summary.x, "t_x": summary.t_x, "T": summary.T})

    def reference() -> Any:
        fitter = BetaGeoFitter(penalizer_coef=0.0)
        return fitter.fit(frame["x"], frame["t_x"], frame["T"]).params_

    theirs = reference()
    worst = max(
        abs(getattr(ours, name) - theirs[name]) / theirs[name] for name in ("r", "alpha", "a", "b")
    )
    base_median, _, _ = _timed(reference, 30)
    print(f"  BG/NBD fit: parameters agree with lifetimes to {worst:.1e} relative", flush=True)
    return Figure(
        "BG/NBD fit, CDNOW 2,357 customers",
        median,
        p95,
        "lifetimes BetaGeoFitter",
        base_median,
        f">= 10x faster (params within {worst:.0e})",
        0,
    )


def _misspell(word: str) -> str:
    """Swap two inner letters: the commonest typing slip."""
    if len(word) < 4:
        return word
    middle = len(word) // 2
    return word[: middle - 1] + word[middle] + word[middle - 1] + word[middle + 1 :]


def _print(
    figures: list[Figure],
    panels: list[dict[str, Any]],
    throughput: dict[str, Any],
    vendor: str,
    contacts: int,
) -> None:
    print()
    print(f"Rapport benchmark: {contacts:,} contacts on {vendor}, {platform.node()}")
    header = (
        f"{'figure':<52} {'median':>8} {'p95':>8} {'CPU':>7} {'SQL':>8} {'ratio':>7}  "
        f"{'queries':>7}  target"
    )
    print(header)
    print("-" * len(header))
    for f in figures:
        print(
            f"{f.name:<52} {f.median_ms:>7.1f}m {f.p95_ms:>7.1f}m {f.cpu_ms:>6.1f}m "
            f"{f.baseline_median_ms:>7.2f}m "
            f"{f.ratio:>6.1f}x  {f.queries:>7}  {f.target}"
        )
    print("(ms; ratio = median / baseline median in the same run; below 1 is faster;")
    print(" CPU = median CPU time of the serving process: the figure on an idle machine)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    print(f"Load average during the run: {load:.1f} on {os.cpu_count()} cores")
    if panels:
        print("Contact page panels (data only, busiest contact):")
        for row in panels:
            print(f"  {row['panel']:<30} {row['median_ms']:>7.1f} ms  {row['queries']:>3} queries")
    if throughput:
        print(f"Throughput ({throughput['server']}):")
        failures = throughput.get("failed_responses", {})
        for name, rate in throughput["requests_per_second"].items():
            share = throughput["share_of_trivial"][name]
            target = throughput["targets"].get(name, "reference")
            failed = f"  ({failures[name]:,} failed)" if failures.get(name) else ""
            print(f"  {name:<38} {rate:>8,.0f} req/s  {share:>5.2f} of trivial  {target}{failed}")
        print(f"  peak worker RSS: {throughput['peak_worker_rss_mb']:.0f} MB (target < 300 MB)")


def _save(
    figures: list[Figure],
    panels: list[dict[str, Any]],
    throughput: dict[str, Any],
    vendor: str,
    contacts: int,
    requests: int,
) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    path = RESULTS / f"{now:%Y-%m-%d}-{vendor}.json"
    payload = {
        "date": now.isoformat(timespec="seconds"),
        "database": vendor,
        "contacts": contacts,
        "requests_per_figure": requests,
        "machine": {
            "node": platform.node(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        },
        "figures": [asdict(f) | {"ratio": round(f.ratio, 2)} for f in figures],
        "panels": panels,
        "throughput": throughput,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"Written {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


if __name__ == "__main__":
    sys.exit(main())
