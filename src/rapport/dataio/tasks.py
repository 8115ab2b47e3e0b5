"""Background import jobs (Huey): enqueued by ``services.queue_import`` after commit."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from rapport.dataio.models import ImportJob


@db_task()
def run_import_job(job_id: int, *, resume: bool = False) -> None:
    from rapport.dataio import services

    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:  # deleted before the worker got to it
        return
    services.run_import(job, resume=resume)


@db_periodic_task(crontab(minute="41", hour="2"))
def apply_retention_rules() -> int:
    """Erase leads inactive longer than the admins' retention rules allow."""
    from rapport.dataio import gdpr

    return gdpr.apply_retention()
