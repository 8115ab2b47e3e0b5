"""Imports are an admin's job: they write many records at once, for everyone."""

from rapport.core.permissions import Grants, Policy, Role, Scope, grant, register
from rapport.dataio.models import (
    ErasureRecord,
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
