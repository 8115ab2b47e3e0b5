from django.urls import path
from rest_framework.routers import SimpleRouter

from rapport.users.api import views

router = SimpleRouter(trailing_slash=False)
router.register("users", views.UserViewSet, basename="user")
router.register("teams", views.TeamViewSet, basename="team")

urlpatterns = [path("me", views.MeView.as_view(), name="me"), *router.urls]
