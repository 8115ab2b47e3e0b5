from django.urls import path

from rapport.core import settings_views as core_settings_views
from rapport.users import views

app_name = "settings"

urlpatterns = [
    path("", views.account, name="account"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.revoke_token, name="revoke-token"),
    path("users/", views.user_list, name="users"),
    path("users/new/", views.user_create, name="user-new"),
    path("users/<int:user_id>/", views.user_edit, name="user"),
    path(
        "users/<int:user_id>/password-link/",
        views.user_send_password_link,
        name="user-password-link",
    ),
    path("teams/", views.team_list, name="teams"),
    path("teams/<int:team_id>/", views.team_edit, name="team"),
]

# Custom field definitions are core's; their pages sit in settings for admins.
urlpatterns += [
    path("custom-fields/", core_settings_views.custom_field_list, name="custom-fields"),
    path("custom-fields/new/", core_settings_views.custom_field_create, name="custom-field-new"),
    path(
        "custom-fields/<int:field_id>/", core_settings_views.custom_field_edit, name="custom-field"
    ),
    path(
        "custom-fields/<int:field_id>/retire/",
        core_settings_views.custom_field_retire,
        name="custom-field-retire",
    ),
    path(
        "custom-fields/<int:field_id>/reactivate/",
        core_settings_views.custom_field_reactivate,
        name="custom-field-reactivate",
    ),
]

# Customer reminder e-mails are the reminders app's; admins edit them in settings.
from rapport.reminders import outreach_views as reminder_views  # noqa: E402

urlpatterns += [
    path("reminder-emails/", reminder_views.template_list, name="reminder-emails"),
    path("reminder-emails/<slug:kind>/", reminder_views.template_edit, name="reminder-email"),
]
