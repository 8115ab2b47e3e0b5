from django.urls import URLPattern, URLResolver, path

from rapport.satisfaction import views

app_name = "satisfaction"

urlpatterns: list[URLPattern | URLResolver] = [
    path("surveys/", views.survey_list, name="surveys"),
    path("surveys/count/", views.survey_count, name="survey-count"),
    path("surveys/export.csv", views.survey_export, name="survey-export"),
    path("surveys/new/", views.survey_new, name="survey-new"),
    path("surveys/invite/", views.invite, name="invite"),
    path("surveys/invitations/", views.invitation_list, name="invitations"),
    path("surveys/invitations/count/", views.invitation_count, name="invitation-count"),
    path("surveys/invitations/export.csv", views.invitation_export, name="invitation-export"),
    path("surveys/invitations/<int:pk>/resend/", views.invitation_resend, name="resend"),
    path("surveys/answers/", views.response_list, name="responses"),
    path("surveys/answers/count/", views.response_count, name="response-count"),
    path("surveys/answers/export.csv", views.response_export, name="response-export"),
    path("surveys/evangelist/<int:contact_id>/", views.mark_evangelist, name="evangelist"),
    path("surveys/<int:pk>/", views.survey_detail, name="survey"),
    path("surveys/<int:pk>/edit/", views.survey_edit, name="survey-edit"),
    path("surveys/<int:pk>/trash/", views.survey_trash, name="survey-trash"),
    # The public page: no login, the signed token is the only key.
    path("survey/<str:token>/", views.answer, name="answer"),
]
