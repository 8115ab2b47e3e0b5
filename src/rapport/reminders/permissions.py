"""Who may see and change tasks, and whose calendar feed is whose.

Tasks follow their **assignee** (``owner_field="assignee"``):

- admins and managers: every task;
- sales, service and marketing: change tasks assigned to them, to their team
  or to nobody (TEAM scope); delete their own; add tasks for themselves,
  their team or nobody;
- read-only: see every task, change nothing.

Seeing is wider than changing: ``queries.tasks`` also shows a person the
tasks on customers (contacts, companies) they may see, and the tasks they
asked for (``owner``), so a customer's page shows all its open work. Those
extra rows can be read but, unless the assignee scope allows it, not changed
or completed. Lists, pages, the API and the panel all read through
``queries.tasks``, so they agree (the API's ``TaskPermission`` therefore lets
a visible task be read even where ``can(VIEW)`` on the assignee alone says no).
The calendar feed shows only the tasks assigned to its person.
"""

from __future__ import annotations

from rapport.core.permissions import Action, Grants, Policy, Role, Scope, grant, register
from rapport.reminders.models import CalendarFeed, Task

V, A, C, D, E = Action.VIEW, Action.ADD, Action.CHANGE, Action.DELETE, Action.EXPORT

WORKS_WITH_CUSTOMERS: Grants = {V: Scope.TEAM, A: Scope.TEAM, C: Scope.TEAM, D: Scope.OWN}

TASK_GRANTS: dict[str, Grants] = {
    Role.ADMIN: grant(Scope.ALL),
    Role.MANAGER: grant(Scope.ALL),
    Role.SALES: WORKS_WITH_CUSTOMERS,
    Role.SERVICE: WORKS_WITH_CUSTOMERS,
    Role.MARKETING: WORKS_WITH_CUSTOMERS,
    Role.READ_ONLY: grant(Scope.ALL, V),
}

register(Task, Policy(grants=TASK_GRANTS, owner_field="assignee"))

# Everyone has their own feed; nobody, admins included, reads another's.
register(
    CalendarFeed,
    Policy(
        grants={role.value: grant(Scope.OWN, V, A, D) for role in Role},
        owner_field="user",
    ),
)
