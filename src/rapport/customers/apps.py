from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "rapport.customers"
    label = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        from rapport.customers import demo, navigation, permissions, scale, search  # noqa: F401
