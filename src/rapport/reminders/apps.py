from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "rapport.reminders"
    label = "reminders"
    verbose_name = "Tasks and reminders"
