from rest_framework.routers import SimpleRouter

from rapport.dataio import duplicate_views
from rapport.dataio.api import views

router = SimpleRouter(trailing_slash=False)
router.register("imports", views.ImportJobViewSet, basename="import-job")
router.register("exports", views.ExportJobViewSet, basename="export-job")
router.register("duplicates", duplicate_views.DuplicatePairViewSet, basename="duplicate-pair")

urlpatterns = router.urls
