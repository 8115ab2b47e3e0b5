from rest_framework.routers import SimpleRouter

from rapport.reminders.api import views

router = SimpleRouter(trailing_slash=False)
router.register("tasks", views.TaskViewSet, basename="task")

urlpatterns = router.urls

# Customer reminders (read-only, plus "retry"): rapport.reminders.api.outreach_views.
from rapport.reminders.api import outreach_views  # noqa: E402

router.register(
    "service-reminders", outreach_views.ServiceReminderViewSet, basename="service-reminder"
)
urlpatterns = router.urls
