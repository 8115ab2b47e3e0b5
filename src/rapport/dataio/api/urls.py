from rest_framework.routers import SimpleRouter

from rapport.dataio.api import views

router = SimpleRouter(trailing_slash=False)
router.register("imports", views.ImportJobViewSet, basename="import-job")

urlpatterns = router.urls
