from django.apps import AppConfig


class MarketingConfig(AppConfig):
    name = "rapport.marketing"
    label = "marketing"
    verbose_name = "Marketing"

    def ready(self) -> None:
        from rapport.marketing import demo, navigation, permissions, rules, tasks  # noqa: F401
