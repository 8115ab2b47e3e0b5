from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "rapport.trading"
    label = "trading"
    verbose_name = "Orders and installed base"
