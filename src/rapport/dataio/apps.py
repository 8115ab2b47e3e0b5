from django.apps import AppConfig


class DataioConfig(AppConfig):
    name = "rapport.dataio"
    label = "dataio"
    verbose_name = "Import and export"

    def ready(self) -> None:
        from rapport.customers import trash
        from rapport.dataio import duplicate_tasks, merge, navigation, permissions, tasks  # noqa: F401

        trash.register(merge.trash_notes)
