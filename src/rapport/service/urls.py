from django.urls import URLPattern, URLResolver, path

from rapport.service import views

app_name = "service"

urlpatterns: list[URLPattern | URLResolver] = [
    path("tickets/", views.ticket_list, name="tickets"),
    path("tickets/count/", views.ticket_count, name="ticket-count"),
    path("tickets/export.csv", views.ticket_export, name="ticket-export"),
    path("tickets/new/", views.ticket_new, name="ticket-new"),
    path("tickets/sla/", views.sla_setup, name="sla"),
    path("tickets/alerts/seen/", views.alerts_seen, name="alerts-seen"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:pk>/edit/", views.ticket_edit, name="ticket-edit"),
    path("tickets/<int:pk>/compose/", views.ticket_compose, name="ticket-compose"),
    path("tickets/inbox/<int:pk>/raw/", views.inbound_raw, name="inbound-raw"),
    path(
        "tickets/<int:pk>/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="attachment",
    ),
    path("tickets/<int:pk>/<slug:verb>/", views.ticket_action, name="ticket-action"),
]
