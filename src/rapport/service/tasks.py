"""Jobs of the service desk: replies out, SLA checks, retries."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from rapport.service import services


@db_task()
def send_reply_task(message_id: int) -> str:
    return services.send_reply(message_id)


@db_task()
def send_alert_task(alert_id: int) -> bool:
    return services.send_alert_mail(alert_id)


@db_periodic_task(crontab(minute="*/5"))
def check_sla_task() -> int:
    """Every five minutes: flag overdue and soon-due tickets and tell their assignees."""
    return len(services.check_sla())


@db_periodic_task(crontab(minute="*/10"))
def retry_replies_task() -> int:
    """Every ten minutes: replies the mail server did not take are tried again."""
    return services.retry_failed_replies()
