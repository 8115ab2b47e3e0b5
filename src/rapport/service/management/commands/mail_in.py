"""``rapport mail-in``: the SMTP server that files customers' e-mails into tickets."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from rapport.service import conf
from rapport.service.mailin import serve


class Command(BaseCommand):
    help = "Receive e-mail by SMTP and file it into tickets (new thread → new ticket)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=None, help="address to listen on")
        parser.add_argument("--port", type=int, default=None, help="port to listen on")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verbosity"] < 2:
            # aiosmtpd logs every SMTP command at INFO; -v 2 shows them.
            logging.getLogger("mail.log").setLevel(logging.WARNING)
        host = options["host"] or conf.mail_in_host()
        port = options["port"] or conf.mail_in_port()
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
        self.stop = stop  # lets a caller in another thread (tests, an embedding app) stop it

        def ready() -> None:
            self.stdout.write(
                f"Receiving e-mail on {host}:{port} "
                f"(largest message {conf.max_message_bytes()} bytes).",
            )
            self.stdout.flush()

        serve(host, port, stop, ready)
        self.stdout.write("Stopped.")
