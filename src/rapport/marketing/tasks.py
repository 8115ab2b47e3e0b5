"""Campaign sending jobs: batches chained at the rate limit, and the minute tick."""

from __future__ import annotations

from datetime import datetime

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from rapport.marketing import automation, services


@db_task(retries=2, retry_delay=30)
def send_batch(campaign_id: int) -> int:
    """Send one batch, then enqueue the next one when the rate limit allows it."""
    result = services.send_batch(campaign_id)
    if result.remaining:
        # ``picked`` messages per (picked / rate) minutes keeps under the limit.
        delay = max(1, round(60 * max(result.picked, 1) / services.rate_per_minute()))
        send_batch.schedule((campaign_id,), delay=delay)
    return result.sent


@db_periodic_task(crontab(minute="*"))
def tick() -> int:
    """Start scheduled campaigns that are due and resume running ones whose chain was lost."""
    started = services.start_due_campaigns()
    for campaign_id in services.stalled_campaigns():
        send_batch(campaign_id)
    return started


@db_periodic_task(crontab(minute="15"))
def run_automation() -> int:
    """Evaluate the automation rules hourly; each fires once per occurrence, so hourly is safe.

    Event triggers read the stored events since the rule was armed, so a
    missed hour only delays them; failed actions get their retry on the next hour.
    """
    return automation.run_all()


@db_task()
def send_webhook(delivery_id: int, now: datetime | None = None) -> bool:
    """One attempt at one webhook delivery; a failure is rescheduled by ``attempt`` itself."""
    from rapport.marketing import webhooks

    return webhooks.attempt(delivery_id, now=now)


@db_periodic_task(crontab(minute="*"))
def run_webhooks() -> int:
    """Every minute: queue the new record events for each endpoint, then send what is due."""
    from rapport.marketing import webhooks

    return webhooks.run()
