from typing import Any

import pytest

from rapport.core.permissions import Action, Role, can, restrict
from rapport.users import services
from rapport.users.models import ApiToken, User


@pytest.mark.django_db
def test_everyone_sees_colleagues_but_only_admins_change_them(user_of_role: Any) -> None:
    for role in Role.values:
        viewer = user_of_role(role)
        assert restrict(User.objects.all(), viewer).filter(pk=viewer.pk).exists()
        assert can(viewer, Action.CHANGE, User) is (role == Role.ADMIN)


@pytest.mark.django_db
def test_tokens_are_private_to_their_owner(sales: User, sales_south: User, admin: User) -> None:
    mine = services.create_api_token(actor=sales, name="mine").token
    theirs = services.create_api_token(actor=sales_south, name="theirs").token
    assert list(restrict(ApiToken.objects.all(), sales)) == [mine]
    assert not can(sales, Action.DELETE, theirs)
    assert set(restrict(ApiToken.objects.all(), admin)) == {mine, theirs}
