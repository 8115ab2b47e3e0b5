"""Configuration from environment variables only (12-factor).

Every parser here raises ``ImproperlyConfigured`` with a one-line message that
names the setting, so ``rapport`` can print it instead of a traceback.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

SUPPORTED_DATABASE_ENGINES = {
    "django.db.backends.sqlite3": "sqlite",
    "django.db.backends.postgresql": "postgresql",
}

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/yes/no, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from None
    if not math.isfinite(value):
        raise ImproperlyConfigured(f"{name} must be a finite number, not {raw!r}")
    return value


def package_dir(package: str, *parts: str) -> str:
    """A folder inside an installed package (e.g. plotly's JavaScript)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImproperlyConfigured(f"The package {package} is not installed; reinstall Rapport.")
    return os.path.join(next(iter(spec.submodule_search_locations)), *parts)


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


# scheme://user:password@ — the password is whatever lies between the first ':' after
# the user name and the last '@' before the path (passwords may contain '@' and ':').
_CREDENTIALS = re.compile(r"^(?P<head>[^:/?#]+://[^:@/?#]*:)(?P<password>[^/?#]*)@")


def redact_url(url: str) -> str:
    """The URL with its password replaced, safe to print in error messages.

    Works on malformed URLs too (they are the ones that end up in messages).
    """
    return _CREDENTIALS.sub(lambda match: f"{match['head']}***@", url, count=1)


def _parse_url[T](name: str, url: str, parse: Callable[[str], T], usage: str) -> T:
    """``parse(url)``, with any complaint about the URL turned into one line naming ``name``."""
    try:
        return parse(url)
    except (ImproperlyConfigured, ValueError, KeyError, TypeError) as error:
        reason = str(error).strip().rstrip(".") or type(error).__name__
        raise ImproperlyConfigured(
            f"{name} {redact_url(url)!r} is invalid ({reason}); {usage}"
        ) from None


def data_dir() -> Path:
    path = Path(os.environ.get("RAPPORT_DATA_DIR", "var")).resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ImproperlyConfigured(
            f"RAPPORT_DATA_DIR: cannot create {path}: {error.strerror}"
        ) from None
    return path


def database_config(directory: Path) -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        url = f"sqlite:///{directory / 'rapport.sqlite3'}"
    usage = "use sqlite:////absolute/path.sqlite3 or postgres://user:password@host:5432/name"
    config: dict[str, Any] = {}
    if "://" in url:
        config = _parse_url("DATABASE_URL", url, _database_url, usage)
    engine = config.get("ENGINE", "")
    if engine not in SUPPORTED_DATABASE_ENGINES:
        raise ImproperlyConfigured(
            f"DATABASE_URL {redact_url(url)!r} is not a supported database URL; {usage}"
        )
    if not config.get("NAME") or config["NAME"] == ":memory:":
        # sqlite:// means an in-memory database: everything would vanish at exit.
        raise ImproperlyConfigured(f"DATABASE_URL {redact_url(url)!r} names no database; {usage}")
    if engine == "django.db.backends.sqlite3":
        # WAL lets readers work while the worker writes; IMMEDIATE avoids the
        # "database is locked" upgrade deadlock between two writers. busy_timeout
        # comes first so the PRAGMAs after it wait for a lock instead of failing
        # when two workers connect at once; analysis_limit bounds optimize's ANALYZE.
        config["OPTIONS"] = {
            "init_command": (
                "PRAGMA busy_timeout=10000; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA foreign_keys=ON; PRAGMA analysis_limit=400; PRAGMA optimize=0x10002;"
            ),
            "transaction_mode": "IMMEDIATE",
            **config.get("OPTIONS", {}),
        }
        # Opening a connection (schema and PRAGMAs) costs about 6 ms of CPU, as much
        # as a whole API request: keep connections open between requests.
        config.setdefault("CONN_MAX_AGE", 600)
        config["CONN_HEALTH_CHECKS"] = True
    else:
        config.setdefault("CONN_MAX_AGE", 60)
        config["CONN_HEALTH_CHECKS"] = True
        config.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    config["TEST"] = {"NAME": _test_database_name(engine, config["NAME"])}
    return config


def _database_url(url: str) -> dict[str, Any]:
    config: dict[str, Any] = environ.Env.db_url_config(url)
    port = config.get("PORT")
    if port not in (None, "") and not 0 < int(port) < 65536:
        raise ValueError(f"port {port} is out of range")
    return config


def _test_database_name(engine: str, name: str) -> str | None:
    if engine == "django.db.backends.sqlite3":
        return None  # in-memory
    return f"test_{name}"


def mailers() -> tuple[dict[str, Any], bool]:
    """Django's MAILERS from EMAIL_URL (smtp://, smtp+tls://, smtp+ssl://), and whether set."""
    url = os.environ.get("EMAIL_URL", "").strip()
    if not url:
        # No e-mail configured: say so clearly when something tries to send.
        return {"default": {"BACKEND": "rapport.core.mail.NotConfiguredBackend"}}, False
    usage = "use smtp://user:password@host:25, smtp+tls://...:587 or smtp+ssl://...:465"
    if urlsplit(url).scheme not in environ.Env.EMAIL_SCHEMES:
        raise ImproperlyConfigured(
            f"EMAIL_URL {redact_url(url)!r} is not a supported e-mail URL; {usage}"
        )
    parsed: dict[str, Any] = _parse_url("EMAIL_URL", url, environ.Env.email_url_config, usage)
    backend = parsed["EMAIL_BACKEND"]
    if backend != "django.core.mail.backends.smtp.EmailBackend":
        return {"default": {"BACKEND": backend}}, True
    if not parsed.get("EMAIL_HOST"):
        raise ImproperlyConfigured(f"EMAIL_URL {redact_url(url)!r} names no mail server host")
    options = {
        "host": parsed["EMAIL_HOST"],
        "port": parsed.get("EMAIL_PORT") or 25,
        "username": parsed.get("EMAIL_HOST_USER") or "",
        "password": parsed.get("EMAIL_HOST_PASSWORD") or "",
        "use_tls": bool(parsed.get("EMAIL_USE_TLS")),
        "use_ssl": bool(parsed.get("EMAIL_USE_SSL")),
        "timeout": 15,
    }
    return {"default": {"BACKEND": backend, "OPTIONS": options}}, True


def secret_key(directory: Path) -> str:
    """SECRET_KEY from the environment, or generated once and kept in the data dir."""
    from_env = os.environ.get("SECRET_KEY", "").strip()
    if from_env:
        return from_env
    key_file = directory / "secret_key"
    if not key_file.exists():
        _create_secret_key(key_file)
    try:
        key = key_file.read_text().strip()
    except OSError as error:
        raise ImproperlyConfigured(
            f"SECRET_KEY: cannot read {key_file}: {error.strerror}"
        ) from None
    if not key:
        raise ImproperlyConfigured(
            f"SECRET_KEY: {key_file} is empty; delete it to make a new one, or set SECRET_KEY "
            "(signed-in users will have to sign in again)"
        )
    return key


def _create_secret_key(key_file: Path) -> None:
    """Write a new key where no process can read it half-written.

    The key goes to a private temporary file that is then hard-linked into
    place, which fails if another process (a web worker starting at the same
    time) got there first; then everyone uses that one.
    """
    temporary = key_file.with_name(f".{key_file.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(64))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, key_file)
        except FileExistsError:
            pass  # another process created it first: use theirs
        except OSError:  # a file system without hard links: create it exclusively
            with contextlib.suppress(FileExistsError):
                descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(descriptor, "w") as handle:
                    handle.write(temporary.read_text())
    except OSError as error:
        raise ImproperlyConfigured(
            f"SECRET_KEY: cannot create {key_file}: {error.strerror}; set SECRET_KEY instead"
        ) from None
    finally:
        temporary.unlink(missing_ok=True)


def redis_url() -> str | None:
    url = os.environ.get("REDIS_URL", "").strip()
    if not url:
        return None
    usage = "use redis://host:6379/0"
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError for a port that is not a number in range
    except ValueError as error:
        raise ImproperlyConfigured(
            f"REDIS_URL {redact_url(url)!r} is invalid ({error}); {usage}"
        ) from None
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(f"REDIS_URL {redact_url(url)!r} is not a Redis URL; {usage}")
    if port == 0 or (parts.scheme != "unix" and not parts.hostname):
        raise ImproperlyConfigured(f"REDIS_URL {redact_url(url)!r} names no host and port; {usage}")
    database = parts.path.strip("/")
    if parts.scheme != "unix" and database and not database.isdigit():
        raise ImproperlyConfigured(
            f"REDIS_URL {redact_url(url)!r}: the database after the last / must be a number; "
            f"{usage}"
        )
    return url
