"""The nightly analytics refresh, and an on-demand one."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from rapport.insights import services


@db_periodic_task(crontab(minute="30", hour="2"))
def nightly_refresh() -> int:
    return services.refresh_scores().customers


@db_task()
def refresh_in_background() -> int:
    return services.refresh_scores().customers
