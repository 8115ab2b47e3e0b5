from rapport.core.permissions import Action, can
from rapport.reminders.models import Task
from rapport.web.navigation import NavItem, register

register(NavItem("tasks", "Tasks", "reminders:my-day", lambda user: can(user, Action.VIEW, Task)))
