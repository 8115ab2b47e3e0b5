from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "rapport.trading"
    label = "trading"
    verbose_name = "Orders and installed base"

    def ready(self) -> None:
        from rapport.trading import demo, navigation, panels, permissions, search  # noqa: F401
