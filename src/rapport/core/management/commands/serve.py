"""`rapport serve`: gunicorn with whitenoise, and optionally a Huey worker beside it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from rapport.config import env_int
from rapport.core.health import check_database, check_migrations, check_queue

# gunicorn lets requests finish for GRACEFUL_SECONDS; whatever still runs after
# STOP_GRACE_SECONDS (a long background job) is killed.
GRACEFUL_SECONDS = 15
STOP_GRACE_SECONDS = 25
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Command(BaseCommand):
    help = "Serve Rapport with gunicorn and whitenoise; --with-worker adds a Huey worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--bind", default=os.environ.get("BIND", "127.0.0.1:8000"), help="host:port"
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=env_int("WEB_CONCURRENCY", 2),
            help="web processes (default: WEB_CONCURRENCY or 2)",
        )
        parser.add_argument("--with-worker", action="store_true", help="also run a Huey worker")

    def handle(self, *args: Any, **options: Any) -> None:
        self.preflight(with_worker=options["with_worker"])
        call_command("collectstatic", interactive=False, verbosity=0)
        commands = {
            "web": [
                sys.executable,
                "-m",
                "gunicorn",
                "rapport.wsgi",
                "--bind",
                options["bind"],
                "--workers",
                str(max(1, options["workers"])),
                "--graceful-timeout",
                str(GRACEFUL_SECONDS),
                "--access-logfile",
                "-",
                "--forwarded-allow-ips",
                os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
                *_without_control_socket(),
            ],
        }
        if options["with_worker"]:
            commands["worker"] = [sys.executable, "-m", "rapport.cli", "worker"]
        self.stdout.write(f"Rapport is starting at http://{options['bind']} (Ctrl-C stops it)")
        self.stdout.flush()
        sys.exit(supervise(commands))

    def preflight(self, *, with_worker: bool) -> None:
        """Refuse to start, in one line, what could not work."""
        check_database().raise_unless_ok()
        check_migrations().raise_unless_ok()
        if with_worker:
            check_queue().raise_unless_ok()
        if not settings.EMAIL_CONFIGURED:
            self.stderr.write(
                "Note: EMAIL_URL is not set, so Rapport cannot send e-mail (password resets)."
            )


def _without_control_socket() -> list[str]:
    """gunicorn 25.1+ opens a control socket in $HOME shared by every instance on the
    machine; Rapport does not use it, and two Rapports must not fight over it."""
    import gunicorn.config

    return ["--no-control-socket"] if hasattr(gunicorn.config, "ControlSocketDisable") else []


def supervise(commands: dict[str, list[str]]) -> int:
    """Run the processes until one stops or we are told to stop; then stop them all.

    Returns 0 when told to stop and every process then exited cleanly; else the
    exit code of the process that failed (1 if it exited with 0 on its own).
    """
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    # Handlers first: a Ctrl-C while the processes start must still stop them all.
    previous = {number: signal.signal(number, stop) for number in STOP_SIGNALS}
    children: dict[str, subprocess.Popen[bytes]] = {}
    exit_code = 0
    try:
        for name, command in commands.items():
            children[name] = subprocess.Popen(command)  # noqa: S603 - our own argv
        while not stopping:
            for name, child in children.items():
                code = child.poll()
                if code is not None:
                    _say(f"{name} stopped on its own (exit code {code}); stopping the rest")
                    exit_code = code or 1
                    stopping = True
                    break
            time.sleep(0.2)
    finally:
        exit_code = _stop_all(children, exit_code)
        for number, handler in previous.items():
            signal.signal(number, handler)
    return exit_code


def _stop_all(children: dict[str, subprocess.Popen[bytes]], exit_code: int) -> int:
    for name, child in children.items():
        if child.poll() is None:
            # Huey finishes running jobs on SIGINT; gunicorn drains requests on SIGTERM.
            child.send_signal(signal.SIGINT if name == "worker" else signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for name, child in children.items():
        already_stopped = child.returncode is not None
        try:
            code = child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            code = child.wait()
            _say(f"{name} did not stop within {STOP_GRACE_SECONDS} s and was killed")
        if not already_stopped:
            _say(f"{name} stopped (exit code {code})")
            if code != 0 and exit_code == 0:
                exit_code = 1
    return exit_code


def _say(text: str) -> None:
    sys.stderr.write(f"rapport: {text}\n")
    sys.stderr.flush()
