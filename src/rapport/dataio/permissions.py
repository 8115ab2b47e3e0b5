"""Who may use the data tools.

Imports are an admin's job: they write many records at once, for everyone.
"Export everything": admins start it and see (and download) everyone's; managers
start their own and fetch only theirs. The ZIP holds only the lists the requester
may export (``Action.EXPORT`` on each model, rows restricted as their lists are),
so the job never widens what a person could export page by page; it is still kept
to the roles that oversee the whole business, as it is the bulk way out of Rapport.
"""

from rapport.core.permissions import Action, Grants, Policy, Role, Scope, grant, register
from rapport.dataio.models import (
    ErasureRecord,
    ExportJob,
    ImportJob,
    ImportRowError,
    RetentionRule,
    SavedMapping,
)

ADMINS_ONLY: dict[str, Grants] = {Role.ADMIN: grant(Scope.ALL)}

register(ImportJob, Policy(grants=ADMINS_ONLY, owner_field="created_by"))
register(ImportRowError, Policy(grants=ADMINS_ONLY, owner_field=None))
register(SavedMapping, Policy(grants=ADMINS_ONLY, owner_field="created_by"))
register(ErasureRecord, Policy(grants=ADMINS_ONLY, owner_field=None))
register(RetentionRule, Policy(grants=ADMINS_ONLY, owner_field=None))

EXPORT_JOB_GRANTS: dict[str, Grants] = {
    Role.ADMIN: grant(Scope.ALL),
    Role.MANAGER: grant(Scope.OWN, Action.VIEW, Action.ADD),
}
register(ExportJob, Policy(grants=EXPORT_JOB_GRANTS, owner_field="requested_by"))
