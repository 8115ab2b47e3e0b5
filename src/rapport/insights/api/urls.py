from rest_framework.routers import SimpleRouter

from rapport.insights.api import views

router = SimpleRouter(trailing_slash=False)
router.register("insights/scores", views.CustomerScoreViewSet, basename="customer-score")
router.register("insights/company-scores", views.CompanyScoreViewSet, basename="company-score")
router.register("insights/runs", views.ModelRunViewSet, basename="model-run")

urlpatterns = router.urls
