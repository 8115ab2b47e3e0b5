from django.urls import path

from rapport.interactions import views

app_name = "interactions"

# Under "timeline/" and "interactions/": the customers app owns
# "contacts/<pk>/<verb>/" and "companies/<pk>/<verb>/".
urlpatterns = [
    path(
        "timeline/contact/<int:pk>/", views.timeline, {"about": "contact"}, name="contact-timeline"
    ),
    path(
        "timeline/company/<int:pk>/", views.timeline, {"about": "company"}, name="company-timeline"
    ),
    path("timeline/contact/<int:pk>/log/", views.log, {"about": "contact"}, name="contact-log"),
    path("timeline/company/<int:pk>/log/", views.log, {"about": "company"}, name="company-log"),
    path("interactions/<int:pk>/", views.entry, name="entry"),
    path("interactions/<int:pk>/edit/", views.edit, name="edit"),
    path("interactions/<int:pk>/delete/", views.delete, name="delete"),
]
