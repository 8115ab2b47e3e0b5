from django.apps import AppConfig


class DataioConfig(AppConfig):
    name = "rapport.dataio"
    label = "dataio"
    verbose_name = "Import and export"

    def ready(self) -> None:
        from rapport.dataio import duplicate_tasks, navigation, permissions, tasks  # noqa: F401
