from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "rapport.users"
    label = "users"
    verbose_name = "Users and teams"

    def ready(self) -> None:
        from rapport.users import demo, navigation, permissions, search  # noqa: F401
