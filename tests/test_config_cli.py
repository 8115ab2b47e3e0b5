"""The `rapport` command as an operator meets it: settings from the environment, one-line
errors, secret key, createadmin, demo, serve. Each test runs the real console script in a
clean environment with its own RAPPORT_DATA_DIR."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

RAPPORT = str(Path(sys.executable).with_name("rapport"))
# What a test must not inherit from the shell or from the test run (which may point
# DATABASE_URL at PostgreSQL): every test states the configuration it means.
CONFIGURATION = {
    "ALLOWED_HOSTS",
    "BIND",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "DEBUG",
    "DEFAULT_FROM_EMAIL",
    "EMAIL_URL",
    "HSTS_PRELOAD",
    "HSTS_SECONDS",
    "HTTPS",
    "LOG_LEVEL",
    "RAPPORT_DATA_DIR",
    "REDIS_URL",
    "SECRET_KEY",
    "SECURE_COOKIES",
    "SITE_URL",
    "WEB_CONCURRENCY",
    "WORKER_THREADS",
}
COMMAND_TIMEOUT = 300  # a fresh migrate of every app takes ~25 s on an idle 2-core machine
SERVE_TRIES = 240  # half a second apart
STOP_TIMEOUT = 60


def environment(data_dir: Path, **settings: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in CONFIGURATION and not name.startswith(("DJANGO_", "PYTEST_"))
    }
    env["RAPPORT_DATA_DIR"] = str(data_dir)
    env.update(settings)
    return env


def rapport(data_dir: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RAPPORT, *args],
        env=environment(data_dir, **settings),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


def python_in(data_dir: Path, code: str) -> str:
    """Run ``code`` in `rapport shell` against ``data_dir``; its stdout."""
    result = rapport(data_dir, "shell", "--no-imports", "-c", code)
    assert result.returncode == 0, result.stderr
    return result.stdout


def assert_one_line_error(result: subprocess.CompletedProcess[str], starts: str) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(starts), lines[0]
    assert result.returncode == 2
    return lines[0]


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("migrated")
    result = rapport(directory, "migrate", "--no-input", "-v", "0")
    assert result.returncode == 0, result.stderr
    return directory


@pytest.fixture
def migrated(tmp_path: Path, migrated_template: Path) -> Path:
    """A data dir with a migrated, empty SQLite database (a copy, so tests stay apart)."""
    target = tmp_path / "data"
    shutil.copytree(migrated_template, target)
    return target


# --- configuration mistakes: one line naming the setting ----------------------


@pytest.mark.parametrize(
    ("command", "variables", "starts"),
    [
        (["check"], {"DATABASE_URL": "nonsense"}, "rapport: DATABASE_URL 'nonsense'"),
        (["check"], {"DATABASE_URL": "mysql://u:hunter2@db/crm"}, "rapport: DATABASE_URL"),
        (["check"], {"DATABASE_URL": "postgres://db:port/crm"}, "rapport: DATABASE_URL"),
        (["check"], {"DATABASE_URL": "postgres://db:99999/crm"}, "rapport: DATABASE_URL"),
        (["check"], {"DATABASE_URL": "sqlite://"}, "rapport: DATABASE_URL 'sqlite://' names no"),
        (["check"], {"REDIS_URL": "http://x"}, "rapport: REDIS_URL 'http://x' is not a Redis URL"),
        (["check"], {"REDIS_URL": "redis://cache:port/0"}, "rapport: REDIS_URL"),
        (["check"], {"EMAIL_URL": "bogus://"}, "rapport: EMAIL_URL 'bogus://'"),
        (["check"], {"EMAIL_URL": "smtp://u:hunter2@mail:port"}, "rapport: EMAIL_URL"),
        (["check"], {"DEBUG": "maybe"}, "rapport: DEBUG must be one of"),
        (["check"], {"LOGIN_FAILURE_LIMIT": "five"}, "rapport: LOGIN_FAILURE_LIMIT"),
        (["serve"], {"WEB_CONCURRENCY": "lots"}, "rapport: WEB_CONCURRENCY"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(
    tmp_path: Path, command: list[str], variables: dict[str, str], starts: str
) -> None:
    line = assert_one_line_error(rapport(tmp_path, *command, **variables), starts)
    assert "hunter2" not in line  # passwords in URLs are never printed


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    result = rapport(tmp_path, "migrate", DATABASE_URL="postgres://postgres@127.0.0.1:1/nope")
    line = assert_one_line_error(result, "rapport: cannot reach the database named by DATABASE_URL")
    assert "127.0.0.1" in line


def test_a_worker_without_its_redis_stops_at_once_naming_redis_url(tmp_path: Path) -> None:
    # A timeout guards against a worker that would wait for Redis forever.
    result = rapport(tmp_path, "worker", REDIS_URL="redis://127.0.0.1:1/0")
    line = assert_one_line_error(result, "rapport: cannot reach Redis")
    assert "(REDIS_URL)" in line
    assert "127.0.0.1:1" in line


def test_a_command_on_an_unmigrated_database_says_to_migrate(tmp_path: Path) -> None:
    result = rapport(tmp_path, "createadmin")
    assert_one_line_error(result, "rapport: the database named by DATABASE_URL is not set up")
    assert "rapport migrate" in result.stderr


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = rapport(tmp_path, "serve", "--bind", "127.0.0.1:1")
    assert_one_line_error(
        result, "rapport: the database is not up to date: run `rapport migrate` first"
    )
    assert "starting" not in result.stdout


# --- the secret key -----------------------------------------------------------


def test_a_secret_key_is_made_once_private_and_kept(tmp_path: Path) -> None:
    key_file = tmp_path / "secret_key"
    assert not key_file.exists()
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    first = python_in(tmp_path, code).strip()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip() == first
    assert len(first) >= 50
    assert python_in(tmp_path, code).strip() == first
    assert [path.name for path in tmp_path.iterdir() if "secret" in path.name] == ["secret_key"]

    # SECRET_KEY in the environment wins, and the file is left alone.
    chosen = secrets.token_urlsafe(60)
    setting = rapport(tmp_path, "shell", "--no-imports", "-c", code, SECRET_KEY=chosen)
    assert setting.stdout.strip() == chosen
    assert key_file.read_text().strip() == first


def test_an_empty_secret_key_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("")
    assert_one_line_error(rapport(tmp_path, "check"), "rapport: SECRET_KEY:")


# --- the deployment check -----------------------------------------------------


def production(**settings: str) -> dict[str, str]:
    return {
        "HTTPS": "true",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "crm.example.com",
        **settings,
    }


def test_deploy_check_passes_with_production_settings(tmp_path: Path) -> None:
    result = rapport(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **production())
    assert result.returncode == 0, result.stderr


def test_deploy_check_fails_without_https(tmp_path: Path) -> None:
    result = rapport(
        tmp_path, "check", "--deploy", "--fail-level", "WARNING", **production(HTTPS="false")
    )
    assert result.returncode == 1
    assert "security.W008" in result.stderr  # SECURE_SSL_REDIRECT


# --- createadmin --------------------------------------------------------------

CREDENTIALS = re.compile(r"e-mail:\s+(\S+)\s+password:\s+(\S+)")


def credentials_in(output: str) -> tuple[str, str]:
    found = CREDENTIALS.search(output)
    assert found is not None, output
    return found[1], found[2]


def password_works(data_dir: Path, email: str, password: str) -> bool:
    code = (
        "from rapport.users.models import User; "
        f"user = User.objects.get(email={email!r}); "
        f"print(user.check_password({password!r}) and user.is_active and user.role == 'admin')"
    )
    return python_in(data_dir, code).strip() == "True"


def admins_in(data_dir: Path) -> int:
    code = "from rapport.users.models import User; print(User.objects.filter(role='admin').count())"
    return int(python_in(data_dir, code))


def test_createadmin_prints_credentials_that_work(migrated: Path) -> None:
    result = rapport(migrated, "createadmin", "--email", "Boss@Example.com")
    assert result.returncode == 0, result.stderr
    email, password = credentials_in(result.stdout)
    assert email == "boss@example.com"
    assert password_works(migrated, email, password)
    assert not password_works(migrated, email, password + "x")
    assert not (migrated / "initial-admin.txt").exists()  # only with --remember

    again = rapport(migrated, "createadmin", "--email", "boss@example.com")
    assert again.returncode == 1
    assert "Another user already signs in with boss@example.com" in again.stderr
    assert admins_in(migrated) == 1


def test_createadmin_if_missing_remember_prints_the_same_admin_again(migrated: Path) -> None:
    first = rapport(migrated, "createadmin", "--if-missing", "--remember")
    assert first.returncode == 0, first.stderr
    credentials = credentials_in(first.stdout)
    remembered = migrated / "initial-admin.txt"
    assert stat.S_IMODE(remembered.stat().st_mode) == 0o600

    second = rapport(migrated, "createadmin", "--if-missing", "--remember")
    assert second.returncode == 0, second.stderr
    assert credentials_in(second.stdout) == credentials
    assert admins_in(migrated) == 1
    assert password_works(migrated, *credentials)

    # Once the admin changes the password, the old one is not printed any more.
    python_in(
        migrated,
        "from rapport.users.models import User; "
        "user = User.objects.get(role='admin'); user.set_password('another pass 42'); user.save()",
    )
    third = rapport(migrated, "createadmin", "--if-missing", "--remember")
    assert third.returncode == 0
    assert "An admin already exists" in third.stdout
    assert credentials[1] not in third.stdout
    assert admins_in(migrated) == 1


# --- demo data ----------------------------------------------------------------

PEOPLE = (
    "import json; from rapport.users.models import Team, User; print(json.dumps({"
    "'teams': sorted(Team.objects.values_list('name', 'description')), "
    "'users': sorted(User.objects.values_list('email', 'full_name', 'role', 'team__name'))}))"
)


def demo_people(data_dir: Path, *args: str) -> dict[str, Any]:
    result = rapport(data_dir, "demo", *args)
    assert result.returncode == 0, result.stderr
    assert "Demo data loaded." in result.stdout
    people: dict[str, Any] = json.loads(python_in(data_dir, PEOPLE))
    return people


def test_demo_with_the_same_seed_makes_the_same_people(
    tmp_path: Path, migrated_template: Path
) -> None:
    runs = []
    for name in ("one", "two", "other-seed"):
        shutil.copytree(migrated_template, tmp_path / name)
    runs = [
        demo_people(tmp_path / "one", "--contacts", "100", "--seed", "7"),
        demo_people(tmp_path / "two", "--contacts", "100", "--seed", "7"),
    ]
    assert runs[0] == runs[1]
    assert len(runs[0]["teams"]) == 4
    roles = {role for _, _, role, _ in runs[0]["users"]}
    assert roles == {"manager", "sales", "service", "marketing", "read_only"}
    other = demo_people(tmp_path / "other-seed", "--contacts", "100", "--seed", "8")
    assert other["teams"] == runs[0]["teams"]
    assert other["users"] != runs[0]["users"]


def test_demo_if_empty_leaves_existing_data_alone(migrated: Path) -> None:
    before = demo_people(migrated, "--contacts", "10", "--seed", "1")
    skipped = rapport(migrated, "demo", "--contacts", "10", "--seed", "2", "--if-empty")
    assert skipped.returncode == 0, skipped.stderr
    assert "already has data; demo data not loaded" in skipped.stdout
    assert json.loads(python_in(migrated, PEOPLE)) == before
    refused = rapport(migrated, "demo", "--contacts", "10", "--seed", "2")
    assert refused.returncode == 1
    assert "already has data" in refused.stderr


def test_demo_into_an_admin_only_rapport_is_allowed_if_empty(migrated: Path) -> None:
    assert rapport(migrated, "createadmin").returncode == 0
    people = demo_people(migrated, "--contacts", "10", "--if-empty")
    assert len(people["users"]) > 1


# --- serve --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def children_of(pid: int) -> list[int]:
    """Child processes of ``pid``, and theirs (Linux /proc)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
        except FileNotFoundError:
            continue
        for child in map(int, text.split()):
            found += [child, *children_of(child)]
    return found


def is_running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has exited


def health(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=5) as reply:
            if reply.status != 200:
                return None
            body: dict[str, Any] = json.load(reply)
            return body
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_serve_with_worker_answers_and_stops_cleanly_on_ctrl_c(
    migrated: Path, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [RAPPORT, "serve", "--with-worker", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            env=environment(migrated),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only what the test sends it to
        )
    try:
        body = None
        for _ in range(SERVE_TRIES):
            assert process.poll() is None, log.read_text()
            body = health(port)
            if body is not None and body["worker_last_seen_seconds"] is not None:
                break
            time.sleep(0.5)
        assert body is not None, log.read_text()
        assert (body["status"], body["database"], body["queue"]) == ("ok", "ok", "ok")
        assert body["worker_last_seen_seconds"] is not None, "the worker never ran its heartbeat"
        descendants = children_of(process.pid)
        assert len(descendants) >= 3  # gunicorn, its web worker, the Huey worker

        process.send_signal(signal.SIGINT)
        exit_code = process.wait(timeout=STOP_TIMEOUT)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    output_text = log.read_text()
    assert exit_code == 0, output_text
    assert "rapport: web stopped (exit code 0)" in output_text
    assert "rapport: worker stopped (exit code 0)" in output_text
    assert "Traceback" not in output_text
    assert [pid for pid in descendants if is_running(pid)] == []
    assert health(port) is None
