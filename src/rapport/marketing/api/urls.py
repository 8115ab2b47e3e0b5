from rest_framework.routers import SimpleRouter

from rapport.marketing.api import views

router = SimpleRouter(trailing_slash=False)
router.register("segments", views.SegmentViewSet, basename="segment")
router.register("campaigns", views.CampaignViewSet, basename="campaign")
router.register("automation-rules", views.AutomationRuleViewSet, basename="automation-rule")
router.register("automation-runs", views.AutomationRunViewSet, basename="automation-run")

router.register("webhooks", views.WebhookEndpointViewSet, basename="webhook")

urlpatterns = router.urls
