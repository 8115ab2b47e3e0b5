from __future__ import annotations

from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from rapport.core.permissions import Role
from rapport.users.models import Team, User


class TeamSerializer(serializers.ModelSerializer[Team]):
    class Meta:
        model = Team
        fields = ["id", "name", "description", "version", "created_at", "updated_at"]
        read_only_fields = ["id", "version", "created_at", "updated_at"]


class UserSerializer(serializers.ModelSerializer[User]):
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), allow_null=True, required=False
    )
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "full_name",
            "role",
            "team",
            "is_active",
            "version",
            "date_joined",
            "last_login",
        ]
        read_only_fields = ["id", "version", "date_joined", "last_login"]


class NewUserSerializer(UserSerializer):
    password = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "password"]
        read_only_fields = [*UserSerializer.Meta.read_only_fields, "is_active"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """A weak password is an error of the ``password`` field, not of the whole user."""
        password = attrs.get("password")
        if password:
            candidate = User(email=attrs.get("email", ""), full_name=attrs.get("full_name", ""))
            try:
                password_validation.validate_password(password, candidate)
            except DjangoValidationError as error:
                raise serializers.ValidationError({"password": list(error.messages)}) from None
        return attrs
