"""Background jobs of satisfaction surveys."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from rapport.satisfaction import services


@db_task(retries=services.RETRIES, retry_delay=600)
def send_invitation(invitation_id: int) -> str | None:
    """One invitation by e-mail; a temporary failure raises, so Huey retries it."""
    return services.deliver(invitation_id)


@db_periodic_task(crontab(minute="15"))
def survey_triggers() -> int:
    """Hourly: invite after deliveries and resolved tickets; expire old links; resend lost ones."""
    run = services.run_triggers()
    services.expire_invitations()
    services.deliver_lost()
    return run.invited
