from django.urls import path

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
