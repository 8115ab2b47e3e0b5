from rest_framework.routers import SimpleRouter

from rapport.marketing.api import views

router = SimpleRouter(trailing_slash=False)
router.register("segments", views.SegmentViewSet, basename="segment")
router.register("campaigns", views.CampaignViewSet, basename="campaign")

urlpatterns = router.urls
