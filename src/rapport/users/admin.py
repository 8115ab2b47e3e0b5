from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from rapport.core.admin import ReadOnlyAdminMixin
from rapport.users.models import ApiToken, Team, User


@admin.register(User)
class UserAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ["email", "full_name", "role", "team", "is_active"]
    list_filter = ["role", "team", "is_active"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["password", "last_login", "date_joined", "version"]
    exclude = ["groups", "user_permissions"]


@admin.register(Team)
class TeamAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ["name", "description"]
    search_fields = ["name"]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[ApiToken]):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "digest"]
