"""Background jobs of the reminders app."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from rapport.reminders import outreach

# --- customer reminders (rapport.reminders.outreach) ----------------------------------


@db_periodic_task(crontab(minute="0", hour="6"))
def send_service_reminders() -> int:
    """Daily: plan what came into the window and send what is due; returns how many went out."""
    return outreach.run_daily()["sent"]


@db_periodic_task(crontab(minute="*/5"))
def retry_service_reminders() -> int:
    """Every five minutes: retries whose back-off has passed, and claims of a dead worker."""
    return outreach.deliver_due()["sent"]


@db_task()
def deliver_service_reminder(reminder_id: int) -> str | None:
    """One reminder now (after "retry now"); a no-op if another worker already has it."""
    return outreach.deliver(reminder_id)
