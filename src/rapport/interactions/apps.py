from django.apps import AppConfig


class InteractionsConfig(AppConfig):
    name = "rapport.interactions"
    label = "interactions"
    verbose_name = "Timeline"

    def ready(self) -> None:
        from rapport.interactions import demo, panels, permissions  # noqa: F401
