from rest_framework.routers import SimpleRouter

from rapport.sales.api import views

router = SimpleRouter(trailing_slash=False)
router.register("pipelines", views.PipelineViewSet, basename="pipeline")
router.register("deals", views.DealViewSet, basename="deal")

urlpatterns = router.urls
