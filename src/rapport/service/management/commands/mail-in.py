"""``rapport mail-in``: the name the docs use; the command itself is ``mail_in``."""

from rapport.service.management.commands.mail_in import Command

__all__ = ["Command"]
