from rapport.core.permissions import Action, Policy, Role, Scope, grant, register
from rapport.users.models import ApiToken, Team, User

EVERY_ROLE = [role.value for role in Role]

# Everyone sees colleagues and teams (to assign owners); only admins manage them.
for model in (User, Team):
    register(
        model,
        Policy(
            grants={
                **{role: grant(Scope.ALL, Action.VIEW) for role in EVERY_ROLE},
                Role.ADMIN: grant(Scope.ALL),
            },
            owner_field=None,
        ),
    )

# Everyone manages their own tokens; admins can also see and revoke anyone's.
register(
    ApiToken,
    Policy(
        grants={
            **{
                role: grant(Scope.OWN, Action.VIEW, Action.ADD, Action.DELETE)
                for role in EVERY_ROLE
            },
            Role.ADMIN: grant(Scope.ALL, Action.VIEW, Action.ADD, Action.DELETE),
        },
        owner_field="user",
    ),
)
