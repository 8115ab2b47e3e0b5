from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from rapport.service.api import views

router = SimpleRouter(trailing_slash=False)
router.register("tickets", views.TicketViewSet, basename="ticket")
router.register("sla-policies", views.SlaPolicyViewSet, basename="sla-policy")
router.register("business-calendars", views.BusinessCalendarViewSet, basename="business-calendar")

urlpatterns: list[URLPattern | URLResolver] = list(router.urls)
