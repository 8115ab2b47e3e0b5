"""Housekeeping jobs that keep a long-running Rapport tidy."""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, periodic_task

from rapport.core.health import record_heartbeat


@periodic_task(crontab(minute="*"))
def heartbeat() -> None:
    """Lets /api/v1/health tell when a worker last ran."""
    record_heartbeat()


@db_periodic_task(crontab(minute="17", hour="3"))
def purge_expired_sessions() -> int:
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
