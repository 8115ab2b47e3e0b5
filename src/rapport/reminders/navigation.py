from rapport.core.permissions import Action, can
from rapport.reminders import outreach_permissions  # noqa: F401  (the policy checked below)
from rapport.reminders.models import ServiceReminder, Task
from rapport.web.navigation import NavItem, register

register(NavItem("tasks", "Tasks", "reminders:my-day", lambda user: can(user, Action.VIEW, Task)))
register(
    NavItem(
        "reminders",
        "Customer reminders",
        "reminders:service-reminders",
        lambda user: can(user, Action.VIEW, ServiceReminder),
    )
)
