from django.apps import AppConfig


class SatisfactionConfig(AppConfig):
    name = "rapport.satisfaction"
    label = "satisfaction"
    verbose_name = "Satisfaction surveys"

    def ready(self) -> None:
        from rapport.satisfaction import (  # noqa: F401
            demo,
            navigation,
            panels,
            permissions,
            search,
            tasks,
        )
