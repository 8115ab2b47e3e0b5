from rest_framework.routers import SimpleRouter

from rapport.interactions.api import views

router = SimpleRouter(trailing_slash=False)
router.register("interactions", views.InteractionViewSet, basename="interaction")

urlpatterns = router.urls
