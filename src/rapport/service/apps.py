from django.apps import AppConfig


class ServiceConfig(AppConfig):
    name = "rapport.service"
    label = "service"
    verbose_name = "Service desk"

    def ready(self) -> None:
        from rapport.service import demo, navigation, panels, permissions, search, tasks  # noqa: F401
