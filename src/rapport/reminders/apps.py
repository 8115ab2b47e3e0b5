from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "rapport.reminders"
    label = "reminders"
    verbose_name = "Tasks and reminders"

    def ready(self) -> None:
        from rapport.reminders import (  # noqa: F401
            demo,
            navigation,
            outreach_permissions,
            panels,
            permissions,
        )
