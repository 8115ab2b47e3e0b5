"""The duplicate scan as a background job (Huey), enqueued by ``duplicates.queue_scan``."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from rapport.dataio.models import DuplicateKind


@db_task()
def scan_duplicates(kind: str) -> int:
    """Refresh the review queue of one kind; returns the number of pairs found."""
    from rapport.dataio import duplicates

    return duplicates.scan(kind).found


@db_periodic_task(crontab(minute="17", hour="3"))
def nightly_duplicate_scan() -> int:
    """Records created or changed during the day reach the queue by the next morning."""
    from rapport.dataio import duplicates

    return sum(duplicates.scan(kind).found for kind in DuplicateKind.values)
