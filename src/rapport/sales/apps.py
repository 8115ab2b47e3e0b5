from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "rapport.sales"
    label = "sales"
    verbose_name = "Sales pipeline"

    def ready(self) -> None:
        from rapport.sales import demo, navigation, panels, permissions, search  # noqa: F401
