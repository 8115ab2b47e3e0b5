from django.urls import path

from rapport.sales import views

app_name = "sales"

urlpatterns = [
    path("deals/", views.deal_list, name="deals"),
    path("deals/board/", views.board, name="board"),
    path("deals/forecast/", views.forecast, name="forecast"),
    path("deals/pipelines/", views.pipeline_settings, name="pipelines"),
    path("deals/count/", views.deal_count, name="deal-count"),
    path("deals/export.csv", views.deal_export, name="deal-export"),
    path("deals/new/", views.deal_new, name="deal-new"),
    path("deals/<int:pk>/", views.deal_detail, name="deal"),
    path("deals/<int:pk>/edit/", views.deal_edit, name="deal-edit"),
    path("deals/<int:pk>/move/", views.deal_move, name="deal-move"),
    path("deals/<int:pk>/<slug:verb>/", views.deal_action, name="deal-action"),
]
