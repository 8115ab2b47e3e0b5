from django.urls import path

from rapport.reminders import views

app_name = "reminders"

urlpatterns = [
    path("tasks/", views.my_day, name="my-day"),
    path("tasks/all/", views.task_list, name="tasks"),
    path("tasks/add/", views.task_add, name="task-add"),
    path("tasks/calendar/new/", views.calendar_regenerate, name="calendar-new"),
    path("tasks/calendar/off/", views.calendar_revoke, name="calendar-off"),
    path("tasks/<int:pk>/", views.task_edit, name="task"),
    path("tasks/<int:pk>/<slug:verb>/", views.task_action, name="task-action"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar-feed"),
]

# Customer reminders (service due, warranty end, renewal): rapport.reminders.outreach_views.
from rapport.reminders import outreach_views  # noqa: E402

urlpatterns += [
    path("reminders/", outreach_views.reminder_list, name="service-reminders"),
    path("reminders/<int:pk>/retry/", outreach_views.reminder_retry, name="service-reminder-retry"),
]
