from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "rapport.catalog"
    label = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from rapport.catalog import demo, navigation, permissions, search  # noqa: F401
