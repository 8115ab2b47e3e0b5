"""Who may see customer reminders, retry them, and edit their e-mails.

Reminders follow their ASSET, which follows its customer (trading/permissions.py):

- everyone whose role sees assets may see the reminders of the assets they see
  (``outreach_queries.reminders`` cuts the rows);
- admins and managers may also retry a failed one (``Action.CHANGE``);
- nobody adds or deletes reminders: the daily job plans them.

The e-mail templates are admin-only: they speak to every customer at once.

Imported by the services, queries and views that use these policies, so the
policies are registered wherever they are needed (see the report: the app's
``ready()`` should import this module too).
"""

from __future__ import annotations

from rapport.core.permissions import Action, Grants, Policy, Role, Scope, grant, register
from rapport.reminders.models import ReminderTemplate, ServiceReminder

V, C = Action.VIEW, Action.CHANGE

REMINDER_GRANTS: dict[str, Grants] = {
    Role.ADMIN: grant(Scope.ALL, V, C),
    Role.MANAGER: grant(Scope.ALL, V, C),
    Role.SALES: grant(Scope.ALL, V),
    Role.SERVICE: grant(Scope.ALL, V),
    Role.MARKETING: grant(Scope.ALL, V),
    Role.READ_ONLY: grant(Scope.ALL, V),
}

register(ServiceReminder, Policy(grants=REMINDER_GRANTS, owner_field=None))
register(ReminderTemplate, Policy(grants={Role.ADMIN: grant(Scope.ALL, V, C)}, owner_field=None))
