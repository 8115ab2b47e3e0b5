from django.apps import AppConfig


class SatisfactionConfig(AppConfig):
    name = "rapport.satisfaction"
    label = "satisfaction"
    verbose_name = "Satisfaction surveys"

    def ready(self) -> None:
        pass
