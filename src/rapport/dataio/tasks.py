"""Background jobs (Huey): imports (``services.queue_import``), "Export everything"
(``services.start_export``), both enqueued after commit; periodic clean-ups."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from rapport.dataio.models import ExportJob, ImportJob


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


# --- "Export everything" -----------------------------------------------------------------


@db_task()
def run_export_job(job_id: int) -> None:
    from rapport.dataio import services

    job = ExportJob.objects.select_related("requested_by").filter(pk=job_id).first()
    if job is None:
        return
    services.run_export(job)


@db_periodic_task(crontab(minute="23", hour="3"))
def expire_exports() -> int:
    """Delete "Export everything" files older than DATAIO_EXPORT_KEEP_DAYS."""
    from rapport.dataio import services

    return services.expire_exports()
